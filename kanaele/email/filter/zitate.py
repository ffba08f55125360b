"""Quote and signature stripping: what the sender wrote this time, for display and for the triage.

Cut at the first reply header ("Am … schrieb …:", "On … wrote:", "-----Ursprüngliche Nachricht-----",
"-----Original Message-----", an Outlook "Von:/Gesendet:" block) and drop ">" quoted lines and the signature
("-- " line, common closings followed by a name only). The full text stays on the article's mail record.
"""

from __future__ import annotations

import re

from kanaele.email.kontext import Kontext

ANTWORTKOPF = re.compile(
    r"^\s*(?:"
    r"am\s[^\n]{3,120}?schrieb\b[^\n]{0,160}?(?:\n[^\n]{0,160}?)?:\s*$"  # Am 3. März … schrieb Max <m@x.de>:
    r"|on\s[^\n]{3,160}?(?:\n[^\n]{0,160}?)?wrote:\s*$"  # (mail clients wrap the address onto a 2nd line)
    r"|-{2,}\s*(?:ursprüngliche nachricht|original message|weitergeleitete nachricht|forwarded message)\s*-{2,}"
    r"|_{10,}\s*$"  # Outlook's line before "Von:"
    r"|(?:von|from):\s.+\n\s*(?:gesendet|sent|datum|date):\s"
    r"|.{0,80}\s(?:schrieb|wrote|a écrit)\s?:\s*$"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
SIGNATUR = re.compile(r"^(?:-- ?|—\s*)$", re.MULTILINE)
GRUSS = re.compile(
    r"^\s*(?:mit )?(?:freundlichen|besten|herzlichen|vielen|liebe[n]?|schöne[n]?)?\s*(?:grüßen|grüssen|gruß|gruss|"
    r"dank)\b.*$|^\s*(?:mfg|vg|lg|viele grüße|beste grüße|best regards|kind regards|regards|cheers)\b.*$",
    re.IGNORECASE | re.MULTILINE,
)


ANREDE = re.compile(
    r"^\s*(?:sehr geehrte[rn]?\s+(?:damen und herren|frau\s+[\w-]+|herr\s+[\w-]+)|liebe[rs]?\s+[\w-]+|"
    r"hallo(?:\s+zusammen|\s+[\w-]+(?=\s*[,!\n]))?|guten\s+(?:tag|morgen|abend)|moin|servus|grüß gott)\s*[,!]?",
    re.IGNORECASE,
)


def neuer_teil(text: str) -> str:
    """The new part of a reply: before the first reply header, without ">" lines and the signature."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    m = ANTWORTKOPF.search(text)
    if m and m.start() > 0:
        text = text[: m.start()]
    elif m and m.start() == 0:
        # A bare forward: the whole mail is the forwarded message; keep it (minus the header line).
        text = text[m.end():]
    zeilen = [z for z in text.split("\n") if not z.lstrip().startswith(">")]
    text = "\n".join(zeilen)
    s = SIGNATUR.search(text)
    if s and s.start() > 0:
        text = text[: s.start()]
    return text.strip()


def ohne_gruss(text: str) -> str:
    """Drop the closing ("Mit freundlichen Grüßen" and the name lines after it) and greetings: noise for search."""
    m = GRUSS.search(text)
    if m and m.start() > len(text) * 0.3:
        text = text[: m.start()]
    text = ANREDE.sub("", text, count=1)
    return text.strip()


def zitate_entfernen(ctx: Kontext) -> None:
    """Filter: ctx.neuer_text = the new part of the mail."""
    ctx.neuer_text = neuer_teil(ctx.mail.text) or (ctx.mail.text or "").strip()
