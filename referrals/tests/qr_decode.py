"""Decode the QR images we serve, with zxing-cpp (requirements-dev.txt), without an imaging
library: a minimal PNG reader (segno's 1-bit greyscale, any row filter) and a rasterizer of
segno's SVG path (`M`/`m` moves and `h` runs along row centres)."""

import re
import struct
import zlib

import zxingcpp


def _decode_grey(pixels: bytes, width: int, height: int) -> list[str]:
    image = memoryview(pixels).cast("B", (height, width))
    return [barcode.text for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def png_pixels(data: bytes) -> tuple[bytes, int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks, header = 8, [], None
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, color, _compression, _filter, interlace = header
    assert color in (0, 3) and depth in (1, 8) and interlace == 0, header
    raw = zlib.decompress(b"".join(chunks))
    stride = (width * depth + 7) // 8
    rows, previous, position = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[position], bytearray(raw[position + 1 : position + 1 + stride])
        position += 1 + stride
        for i in range(stride):
            left = line[i - 1] if i else 0
            up, corner = previous[i], (previous[i - 1] if i else 0)
            line[i] = (line[i] + (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]) & 0xFF
        rows.append(bytes(line))
        previous = line
    pixels = bytearray()
    for line in rows:
        if depth == 8:
            pixels += line[:width]
        else:
            pixels += bytes(255 if line[x // 8] >> (7 - x % 8) & 1 else 0 for x in range(width))
    return bytes(pixels), width, height


def decode_png(data: bytes) -> list[str]:
    return _decode_grey(*png_pixels(data))


def decode_svg(svg: bytes, *, scale: int = 6) -> list[str]:
    text = svg.decode()
    width, height = (int(value) for value in re.search(r'width="(\d+)" height="(\d+)"', text).groups())
    path = re.search(r'<path[^>]* d="([^"]+)"', text).group(1)
    dark = set()
    x = y = 0.0
    for command, args in re.findall(r"([MmHh])([-0-9. ]+)", path):
        numbers = [float(n) for n in args.split()]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            run = numbers[0] if command == "h" else numbers[0] - x
            for column in range(int(x), int(x + run)):
                dark.add((column, int(y)))
            x += run
    pixels = bytearray(255 for _ in range(width * height * scale * scale))
    for column, row in dark:
        for dy in range(scale):
            start = (row * scale + dy) * width * scale + column * scale
            pixels[start : start + scale] = bytes(scale)
    return _decode_grey(bytes(pixels), width * scale, height * scale)
