"""Accessible inline SVG charts, rendered on the server (no script, no inline style: CSP-safe).

Each chart is `role="img"` with <title> and <desc> (a text summary); the page puts the data table below it.
Colours meet WCAG 1.4.11 (>= 3:1 against white) and series also differ by pattern (solid vs. outlined bars).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from markupsafe import Markup, escape

FARBEN = ("#1d4f91", "#a14a00")  # dark blue 8.6:1, dark orange 5.9:1 on white
TEXT = "#1a1a1a"
RASTER = "#767676"
ZIEL = "#000000"
_zaehler = itertools.count(1)


def _id(praefix: str) -> str:
    return f"{praefix}-{next(_zaehler)}"


def _zahl(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _kopf(titel: str, beschreibung: str, breite: int, hoehe: int) -> tuple[list[str], str]:
    tid, did = _id("diagramm-titel"), _id("diagramm-text")
    teile = [
        f'<svg class="diagramm" role="img" aria-labelledby="{tid} {did}" viewBox="0 0 {breite} {hoehe}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg" focusable="false">',
        f'<title id="{tid}">{escape(titel)}</title>',
        f'<desc id="{did}">{escape(beschreibung)}</desc>',
    ]
    return teile, tid


def balken(
    titel: str, beschreibung: str, beschriftungen: Sequence[str], reihen: dict[str, Sequence[float | None]],
    *, breite: int = 720, hoehe: int = 260,
) -> Markup:
    """Grouped vertical bars, one group per label; a legend when there is more than one series."""
    links, rechts, oben, unten = 44, 12, 28 if len(reihen) > 1 else 12, 34
    teile, _ = _kopf(titel, beschreibung, breite, hoehe)
    werte = [v or 0 for r in reihen.values() for v in r]
    hoechst = max(werte + [1])
    # A round axis maximum with 4 grid lines.
    schritt = max(1, -(-hoechst // 4))
    oberkante = schritt * 4
    ph, pb = hoehe - oben - unten, breite - links - rechts
    n = max(len(beschriftungen), 1)
    gruppe = pb / n
    bbreite = max(gruppe * 0.8 / max(len(reihen), 1), 1)
    for i in range(5):
        y = oben + ph - ph * i / 4
        teile.append(f'<line x1="{links}" y1="{_zahl(y)}" x2="{breite - rechts}" y2="{_zahl(y)}" '
                     f'stroke="{RASTER}" stroke-width="0.5"/>')
        teile.append(f'<text x="{links - 6}" y="{_zahl(y + 4)}" text-anchor="end" font-size="11" '
                     f'fill="{TEXT}">{int(schritt * i)}</text>')
    jede = max(1, -(-n // 24))  # thin out labels on long periods
    for gi, b in enumerate(beschriftungen):
        x0 = links + gi * gruppe + gruppe * 0.1
        for si, (name, reihe) in enumerate(reihen.items()):
            v = reihe[gi] or 0
            h = ph * v / oberkante
            farbe = FARBEN[si % len(FARBEN)]
            fuellung = farbe if si % 2 == 0 else "#ffffff"
            teile.append(
                f'<rect x="{_zahl(x0 + si * bbreite)}" y="{_zahl(oben + ph - h)}" width="{_zahl(bbreite)}" '
                f'height="{_zahl(h)}" fill="{fuellung}" stroke="{farbe}" stroke-width="1.5">'
                f'<title>{escape(b)}: {escape(name)} {_zahl(v)}</title></rect>'
            )
        if gi % jede == 0:
            teile.append(f'<text x="{_zahl(links + gi * gruppe + gruppe / 2)}" y="{hoehe - unten + 16}" '
                         f'text-anchor="middle" font-size="11" fill="{TEXT}">{escape(b)}</text>')
    teile.append(f'<line x1="{links}" y1="{oben + ph}" x2="{breite - rechts}" y2="{oben + ph}" stroke="{TEXT}"/>')
    if len(reihen) > 1:
        x = links
        for si, name in enumerate(reihen):
            farbe = FARBEN[si % len(FARBEN)]
            fuellung = farbe if si % 2 == 0 else "#ffffff"
            teile.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{fuellung}" stroke="{farbe}" '
                         f'stroke-width="1.5"/>')
            teile.append(f'<text x="{x + 18}" y="16" font-size="12" fill="{TEXT}">{escape(name)}</text>')
            x += 40 + 7 * len(name)
    teile.append("</svg>")
    return Markup("".join(teile))


def linie(
    titel: str, beschreibung: str, beschriftungen: Sequence[str], werte: Sequence[float | None], *,
    ziel: float | None = None, breite: int = 720, hoehe: int = 260,
) -> Markup:
    """A share (0..1) over time as a line with points; gaps where there is no value; a dashed target line."""
    links, rechts, oben, unten = 48, 12, 24, 34
    teile, _ = _kopf(titel, beschreibung, breite, hoehe)
    ph, pb = hoehe - oben - unten, breite - links - rechts
    n = max(len(beschriftungen), 1)
    schritt = pb / n

    def y(v: float) -> float:
        return oben + ph - ph * v

    for i in range(5):
        yy = y(i / 4)
        teile.append(f'<line x1="{links}" y1="{_zahl(yy)}" x2="{breite - rechts}" y2="{_zahl(yy)}" '
                     f'stroke="{RASTER}" stroke-width="0.5"/>')
        teile.append(f'<text x="{links - 6}" y="{_zahl(yy + 4)}" text-anchor="end" font-size="11" '
                     f'fill="{TEXT}">{i * 25} %</text>')
    if ziel is not None:
        teile.append(f'<line x1="{links}" y1="{_zahl(y(ziel))}" x2="{breite - rechts}" y2="{_zahl(y(ziel))}" '
                     f'stroke="{ZIEL}" stroke-width="1.5" stroke-dasharray="6 4"/>')
        teile.append(f'<text x="{breite - rechts}" y="{_zahl(y(ziel) - 5)}" text-anchor="end" font-size="11" '
                     f'fill="{TEXT}">Ziel {_zahl(ziel * 100)} %</text>')
    punkte: list[list[tuple[float, float]]] = [[]]
    jede = max(1, -(-n // 24))
    for i, (b, v) in enumerate(zip(beschriftungen, werte, strict=True)):
        x = links + i * schritt + schritt / 2
        if v is None:
            if punkte[-1]:
                punkte.append([])
        else:
            punkte[-1].append((x, y(v)))
            teile.append(f'<circle cx="{_zahl(x)}" cy="{_zahl(y(v))}" r="3.5" fill="{FARBEN[0]}">'
                         f'<title>{escape(b)}: {_zahl(v * 100)} %</title></circle>')
        if i % jede == 0:
            teile.append(f'<text x="{_zahl(x)}" y="{hoehe - unten + 16}" text-anchor="middle" font-size="11" '
                         f'fill="{TEXT}">{escape(b)}</text>')
    for strecke in punkte:
        if len(strecke) > 1:
            pfad = " ".join(f"{_zahl(px)},{_zahl(py)}" for px, py in strecke)
            teile.append(f'<polyline points="{pfad}" fill="none" stroke="{FARBEN[0]}" stroke-width="2"/>')
    teile.append(f'<line x1="{links}" y1="{oben + ph}" x2="{breite - rechts}" y2="{oben + ph}" stroke="{TEXT}"/>')
    teile.append("</svg>")
    return Markup("".join(teile))
