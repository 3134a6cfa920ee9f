"""Image files whose decoding costs far more than their size suggests, made at test time, for
the tests and the hostile-load benchmark: small uploads that a careless server decodes for
seconds, or on its event loop."""

import io
import struct
import zlib

from PIL import Image

KiB = 1024


def _encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment of a JPEG, its scans' entropy-coded data included."""
    segments, position = [], 2
    while position < len(data):
        marker = data[position + 1]
        if marker == 0xD9:
            segments.append((marker, position, position + 2))
            break
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:  # the scan's data runs to the next marker that is not a restart
            while data[end] != 0xFF or data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                end += 1
        segments.append((marker, position, end))
        position = end
    return segments


def progressive_scan_flood(side: int = 256, size: int = 128 * KiB) -> bytes:
    """A valid progressive grayscale JPEG of `side` x `side` pixels whose one AC scan is
    repeated until the file is `size` bytes: each 12-byte copy makes the decoder pass over every
    block of the image again (an end-of-band run as long as the image, which the progression
    rules allow to repeat)."""
    plain = _encoded(Image.new("L", (side, side), 128), "JPEG", progressive=True)
    first_scan_end = next(end for marker, _, end in _jpeg_segments(plain) if marker == 0xDA)
    head = plain[:first_scan_end]  # everything up to and including the DC scan
    blocks = ((side + 7) // 8) ** 2
    run_bits = blocks.bit_length() - 1
    # An AC Huffman table (class 1, id 1) with one 1-bit code: the end-of-band run symbol.
    table = bytes([0x11, 1] + [0] * 15 + [run_bits << 4])
    dht = b"\xff\xc4" + struct.pack(">H", 2 + len(table)) + table
    # Component 1, AC table 1, coefficients 1-63, no successive approximation.
    header = bytes([1, 1, 0x01, 1, 63, 0])
    bits = "0" + format(blocks - (1 << run_bits), f"0{run_bits}b")
    bits += "1" * (-len(bits) % 8)
    scan = b"\xff\xda" + struct.pack(">H", 2 + len(header)) + header
    scan += int(bits, 2).to_bytes(len(bits) // 8, "big")
    copies = (size - len(head) - len(dht) - 2) // len(scan)
    return head + dht + scan * copies + b"\xff\xd9"


def segment_padded_jpeg(segments: int = 5000) -> bytes:
    """A small plain JPEG with thousands of empty comment segments before its frame."""
    plain = _encoded(Image.new("RGB", (32, 32), (10, 200, 30)), "JPEG")
    return plain[:2] + b"\xff\xfe\x00\x02" * segments + plain[2:]


def blank(side: int, image_format: str) -> bytes:
    """A black square in `image_format`: a few KiB that decode to `side` squared pixels."""
    image = Image.new("RGB", (side, side))
    options_by_format: dict[str, dict[str, object]] = {
        "PNG": {"optimize": True},
        "WEBP": {"lossless": True},
        "TIFF": {"compression": "tiff_adobe_deflate"},
        "JPEG": {"quality": 50},
    }
    options = options_by_format.get(image_format, {})
    if image_format == "PJPEG":
        image_format, options = "JPEG", {"quality": 50, "progressive": True}
    if image_format == "GIF":
        image = image.convert("P")
    return _encoded(image, image_format, **options)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header that claims `width` x `height` pixels, without the pixels (a decompression
    bomb's first bytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"\x00\x00\x00\x00IEND\xaeB`\x82"
