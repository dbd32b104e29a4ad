"""Consent links as QR codes (collective.portal.qr): the images written are read back module
by module (SVG path, PNG pixels) and compared with the QR symbol segno makes of the link, since
no QR decoder runs here offline; bad file names and links are refused in words. The CLI's
``consent request --qr`` and the portal's ``/qr`` are tested against a chain in
test_verify.py (one chain for both)."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
import segno

from collective.errors import InvalidInputError
from collective.portal.qr import MAX_LINK, SCALE, kind_of, qr_code, qr_image, write_qr

LINK = (
    "https://consent.lab.example/consent?org=0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    "&purpose=dpv%3AResearchAndDevelopment&category=dpv-pd%3AMedicalHealth&version=1"
    "&hash=0x" + "3f" * 32
)
BORDER = 4  # the quiet zone, in modules (ISO/IEC 18004)


def expected(link: str) -> list[list[int]]:
    """The symbol of ``link`` as segno makes it at level M, rows of 0/1 (no quiet zone)."""
    return [list(row) for row in segno.make(link, error="m", micro=False).matrix]


def svg_modules(svg: str) -> list[list[int]]:
    """The dark modules of a segno SVG (one path of ``M``/``m`` moves and ``h`` runs, in
    module units, the quiet zone included) as rows of 0/1 without the quiet zone."""
    width = int(re.search(r'width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    scale = int(re.search(r'transform="scale\((\d+)\)"', svg).group(1))  # type: ignore[union-attr]
    size = width // scale - 2 * BORDER
    grid = [[0] * size for _ in range(size)]
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for i in range(int(a)):
                grid[int(y - 0.5) - BORDER][int(x) + i - BORDER] = 1
            x += int(a)
    return grid


def png_modules(data: bytes) -> list[list[int]]:
    """The modules of a greyscale PNG (PNG spec: chunks, zlib, the five row filters), read at
    each module's centre: dark (0) pixels as 1."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert (
            zlib.crc32(kind + body)
            == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        )
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert colour == 0 and depth in (1, 8)
    stride = (width * depth + 7) // 8
    raw, rows, prev = zlib.decompress(idat), [], bytearray(stride)
    for r in range(height):
        kind, line = (
            raw[r * (stride + 1)],
            bytearray(raw[r * (stride + 1) + 1 : (r + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - 1] if i else 0
            up, corner = prev[i], prev[i - 1] if i else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prev = line

    def pixel(x: int, y: int) -> int:
        if depth == 8:
            return rows[y][x]
        return (rows[y][x // 8] >> (7 - x % 8)) & 1

    scale = SCALE["png"]
    size = width // scale - 2 * BORDER
    return [
        [int(pixel((c + BORDER) * scale + scale // 2, (r + BORDER) * scale + scale // 2) == 0)
         for c in range(size)]
        for r in range(size)
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["poster.svg", "POSTER.SVG"])
def test_an_svg_holds_the_links_symbol(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert write_qr(LINK, path) == "svg"
    svg = path.read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "<title>A consent request link</title>" in svg
    assert "<script" not in svg and "style=" not in svg
    assert svg_modules(svg) == expected(LINK)
    assert qr_code(LINK).version == segno.make(LINK, error="m").version  # the smallest symbol


def test_a_png_holds_the_links_symbol(tmp_path: Path) -> None:
    path = tmp_path / "poster.png"
    assert write_qr(LINK, path) == "png"
    modules = png_modules(path.read_bytes())
    assert modules == expected(LINK)
    assert len(modules) == 4 * int(qr_code(LINK).version) + 17  # ISO/IEC 18004: 21 + 4(v - 1)


def test_bad_names_and_links_are_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"should end in \.svg or \.png"):
        write_qr(LINK, tmp_path / "poster.jpg")
    with pytest.raises(InvalidInputError, match="should end in"):
        kind_of(Path("poster"))
    with pytest.raises(InvalidInputError, match=r"cannot write the QR code to .*No such file"):
        write_qr(LINK, tmp_path / "missing-folder" / "poster.svg")
    (tmp_path / "folder.svg").mkdir()
    with pytest.raises(InvalidInputError, match=r"folder\.svg is a folder: --qr takes the"):
        write_qr(LINK, tmp_path / "folder.svg")
    with pytest.raises(InvalidInputError, match=f"up to {MAX_LINK}"):
        qr_image("https://x.example/" + "a" * MAX_LINK, "svg")
    with pytest.raises(InvalidInputError, match="no link"):
        qr_code("")
    with pytest.raises(InvalidInputError, match="svg or png"):
        qr_image(LINK, "gif")
