"""Real mail protocol peers for tests: an aiosmtpd SMTP sink (optionally STARTTLS/TLS with AUTH) and helpers.

No mocked SMTP: the code under test talks to a real server on a free local port.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def freier_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Empfangen:
    von: str
    an: list[str]
    roh: bytes

    @property
    def nachricht(self) -> EmailMessage:
        # Line ends as a local mail store would keep them (LF), so decoded text compares plainly.
        roh = self.roh.replace(b"\r\n", b"\n")
        return email.message_from_bytes(roh, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class SmtpSenke:
    """aiosmtpd handler that stores what it receives. `rcpt_antworten` are answered to RCPT one after the other
    (e.g. ["451 4.3.0 Bitte später", "250 OK"]); after the list, every RCPT is accepted."""

    rcpt_antworten: list[str] = field(default_factory=list)
    mails: list[Empfangen] = field(default_factory=list)
    rcpt_versuche: int = 0
    nach_empfang: Callable[[Empfangen], None] | None = None
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self._lock:
            self.rcpt_versuche += 1
            antwort = self.rcpt_antworten.pop(0) if self.rcpt_antworten else "250 OK"
        if antwort.startswith("250"):
            envelope.rcpt_tos.append(address)
        return antwort

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        e = Empfangen(von=envelope.mail_from, an=list(envelope.rcpt_tos), roh=bytes(envelope.original_content
                                                                                   or envelope.content))
        with self._lock:
            self.mails.append(e)
        if self.nach_empfang is not None:
            self.nach_empfang(e)
        return "250 Message accepted for delivery"


def tls_kontexte(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: (server context, client context that trusts it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    jetzt = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(jetzt - dt.timedelta(days=1))
            .not_valid_after(jetzt + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_pfad, key_pfad = tmp / "cert.pem", tmp / "key.pem"
    cert_pfad.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pfad.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_pfad, key_pfad)
    client = ssl.create_default_context(cafile=str(cert_pfad))
    return server, client


class _Anmeldung:
    def __init__(self, benutzer: str, passwort: str) -> None:
        self.benutzer, self.passwort = benutzer.encode(), passwort.encode()
        self.erfolge = 0

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == self.benutzer \
            and auth_data.password == self.passwort
        self.erfolge += ok
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@contextlib.contextmanager
def smtp_server(senke: SmtpSenke, *, tls_kontext: ssl.SSLContext | None = None, implizit_tls: bool = False,
                anmeldung: tuple[str, str] | None = None) -> Iterator[SmtpSenke]:
    """Run the sink as a real SMTP server on a free port (STARTTLS with `tls_kontext`, or implicit TLS)."""
    port = freier_port()
    kwargs: dict = {}
    if anmeldung is not None:
        kwargs["authenticator"] = _Anmeldung(*anmeldung)
        # aiosmtpd does not count implicit TLS for auth_require_tls; the connection is encrypted anyway.
        kwargs["auth_require_tls"] = tls_kontext is not None and not implizit_tls
    else:
        kwargs["auth_required"] = False
    if tls_kontext is not None and implizit_tls:
        kwargs["ssl_context"] = tls_kontext
    elif tls_kontext is not None:
        kwargs["tls_context"] = tls_kontext
        kwargs["require_starttls"] = True
    ctrl = Controller(senke, hostname="127.0.0.1", port=port, auth_required=anmeldung is not None,
                      **{k: v for k, v in kwargs.items() if k != "auth_required"})
    ctrl.start()
    senke.port = port
    try:
        yield senke
    finally:
        ctrl.stop()


# --- Dovecot (IMAP) ------------------------------------------------------------------------------------------


@dataclass
class Dovecot:
    port: int
    benutzer: str
    passwort: str
    basis: Path

    def log(self) -> str:
        pfad = self.basis / "dovecot.log"
        return pfad.read_text(errors="replace") if pfad.exists() else ""


DOVECOT_KONF = """\
base_dir = {basis}/run
state_dir = {basis}/state
log_path = {basis}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{basis}/mail/%u
first_valid_uid = {uid}
last_valid_uid = {uid}
default_login_user = dovenull
default_internal_user = dovecot
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {basis}/benutzer
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {basis}/benutzer
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{extra}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@contextlib.contextmanager
def dovecot_server(*, benutzer: str = "servicepostfach", passwort: str = "geheim",
                   faehigkeiten: str | None = None) -> Iterator[Dovecot]:
    """A real Dovecot (Debian `dovecot-imapd`, installed by `make test`) with a throw-away configuration:
    own base_dir, passwd-file user, maildir in a temp directory, plain IMAP on a free 127.0.0.1 port.
    `faehigkeiten` replaces the announced capabilities (e.g. a server without IDLE and MOVE)."""
    import os
    import pwd
    import shutil
    import subprocess
    import tempfile
    import time

    programm = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(programm):
        raise RuntimeError("dovecot fehlt: `make test` installiert das Debian-Paket dovecot-imapd")
    # Mail is owned by an unprivileged user (Dovecot refuses uid 0); the directory must be traversable for it.
    nutzer = pwd.getpwnam("nobody")
    basis = Path(tempfile.mkdtemp(prefix="sc115-dovecot-"))
    os.chmod(basis, 0o755)
    (basis / "mail").mkdir()
    os.chown(basis / "mail", nutzer.pw_uid, nutzer.pw_gid)
    (basis / "benutzer").write_text(
        f"{benutzer}:{{PLAIN}}{passwort}:{nutzer.pw_uid}:{nutzer.pw_gid}::{basis}/mail/{benutzer}::\n")
    port = freier_port()
    konf = basis / "dovecot.conf"
    konf.write_text(DOVECOT_KONF.format(
        basis=basis, port=port, uid=nutzer.pw_uid,
        extra=f"imap_capability = {faehigkeiten}" if faehigkeiten else ""))
    proc = subprocess.Popen([programm, "-F", "-c", str(konf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = Dovecot(port=port, benutzer=benutzer, passwort=passwort, basis=basis)
    try:
        ende = time.monotonic() + 30  # readiness wait (start-up), not a timing assertion
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dovecot beendet: {proc.stdout.read().decode(errors='replace')}\n{server.log()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        break
            except OSError:
                if time.monotonic() > ende:
                    raise RuntimeError(f"dovecot antwortet nicht\n{server.log()}") from None
                time.sleep(0.05)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(basis, ignore_errors=True)
