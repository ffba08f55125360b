"""The REST channel admits a few messages at a time, the rest in arrival order, and loses none."""

from __future__ import annotations

import asyncio

import pytest
import rest_kanal


def test_hoechstens_n_gleichzeitig_in_ankunftsreihenfolge() -> None:
    laufend, hoechstens, gestartet = [0], [0], []

    async def verarbeiten(nachricht: int) -> int:
        gestartet.append(nachricht)
        laufend[0] += 1
        hoechstens[0] = max(hoechstens[0], laufend[0])
        await asyncio.sleep(0.01 if nachricht % 2 else 0.002)  # waiting for the action server
        laufend[0] -= 1
        return nachricht * 10

    async def lauf() -> list[int]:
        behandeln = rest_kanal.begrenzt(verarbeiten, 2)
        return await asyncio.gather(*(behandeln(i) for i in range(10)))

    ergebnisse = asyncio.run(lauf())
    assert ergebnisse == [i * 10 for i in range(10)]  # every message answered, each with its own result
    assert hoechstens[0] == 2
    assert gestartet == list(range(10))  # admitted in arrival order, although the odd ones take longer


def test_fehler_gibt_den_platz_frei() -> None:
    async def verarbeiten(nachricht: int) -> int:
        await asyncio.sleep(0)
        if nachricht < 3:
            raise RuntimeError("kaputt")
        return nachricht

    async def lauf() -> list:
        behandeln = rest_kanal.begrenzt(verarbeiten, 1)
        return await asyncio.wait_for(asyncio.gather(*(behandeln(i) for i in range(6)), return_exceptions=True), 5)

    ergebnisse = asyncio.run(lauf())
    assert [type(e) for e in ergebnisse[:3]] == [RuntimeError] * 3 and ergebnisse[3:] == [3, 4, 5]


def test_null_heisst_ohne_grenze(monkeypatch) -> None:
    async def verarbeiten(nachricht: int) -> int:
        return nachricht

    assert rest_kanal.begrenzt(verarbeiten, 0) is verarbeiten
    monkeypatch.setenv("CHATBOT_GLEICHZEITIGE_NACHRICHTEN", "0")
    assert rest_kanal.gleichzeitig() == 0
    monkeypatch.delenv("CHATBOT_GLEICHZEITIGE_NACHRICHTEN")
    assert rest_kanal.gleichzeitig() == 2


@pytest.mark.parametrize("wert", ["zwei", "-1", "1.5"])
def test_ungueltige_einstellung_wird_klar_abgelehnt(monkeypatch, wert: str) -> None:
    monkeypatch.setenv("CHATBOT_GLEICHZEITIGE_NACHRICHTEN", wert)
    with pytest.raises(ValueError, match="CHATBOT_GLEICHZEITIGE_NACHRICHTEN"):
        rest_kanal.gleichzeitig()
