"""Looking inside a PDF the way a reader would: its text (pdftotext) and its pages as
PNG images (pdftoppm), both from poppler-utils (scripts/services.sh installs them)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path


def require_poppler() -> None:
    missing = [p for p in ("pdftoppm", "pdftotext") if shutil.which(p) is None]
    assert not missing, f"{missing} missing: run scripts/services.sh (apt package poppler-utils)"


def pdf_text(pdf: Path) -> str:
    require_poppler()
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_pages(pdf: Path, out: Path, dpi: int = 50) -> list[Path]:
    """Each page as a PNG file, in order."""
    require_poppler()
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out / "page")], check=True)
    return sorted(out.glob("page*.png"))


def png_pixels(png: Path) -> tuple[int, int, list[tuple[int, int, int]]]:
    """(width, height, RGB pixels) of an 8-bit RGB PNG as pdftoppm writes it."""
    data = png.read_bytes()
    pos, chunks = 8, b""
    width = height = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 2), "expected 8-bit RGB"
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    raw = zlib.decompress(chunks)
    stride = width * 3
    pixels: list[tuple[int, int, int]] = []
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b = previous[i]
            c = previous[i - 3] if i >= 3 else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels += [tuple(line[i : i + 3]) for i in range(0, stride, 3)]  # type: ignore[misc]
        previous = line
    return width, height, pixels


def count_near(
    pixels: list[tuple[int, int, int]], color: tuple[int, int, int], tol: int = 40
) -> int:
    return sum(1 for p in pixels if all(abs(p[i] - color[i]) <= tol for i in range(3)))


def solid_png(color: tuple[int, int, int], size: int = 40) -> bytes:
    """A PNG filled with one colour (to find on the rendered page)."""
    row = b"\x00" + bytes(color) * size
    raw = zlib.compress(row * size)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
