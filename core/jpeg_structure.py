"""Whether a JPEG's decoding cost is bounded by its size, read from its markers alone.

A sequential JPEG's decoding touches each pixel once and each byte once. A progressive one
does not: each of its scans passes over the whole image again, and a scan can be a dozen bytes
long, so a 128 KiB file of 256x256 pixels can hold ten thousand of them and take as long to
decode as a large photo. Headers can also be padded with thousands of segments.
"""

# Start-of-frame markers of the sequential, Huffman-coded processes (baseline and extended).
SEQUENTIAL_FRAMES = frozenset({0xC0, 0xC1})
# Every other start-of-frame marker: progressive, lossless, arithmetic-coded, hierarchical.
OTHER_FRAMES = frozenset(range(0xC2, 0xD0)) - {0xC4, 0xC8, 0xCC}
START_OF_SCAN = 0xDA
# Ordinary files have 5 to 15 segments before their first scan.
MAX_SEGMENTS_BEFORE_SCAN = 32


def has_bounded_decoding_cost(data: bytes) -> bool:
    """True for a sequential JPEG with few header segments and no more scans than colour
    components (one each at most, as non-interleaved files have): its decoding costs in
    proportion to its pixels and bytes. False for anything else, which is not refused, only
    not known to be cheap."""
    if not data.startswith(b"\xff\xd8"):
        return False
    components = None
    position = 2
    for _ in range(MAX_SEGMENTS_BEFORE_SCAN):
        if position + 4 > len(data) or data[position] != 0xFF:
            return False
        marker = data[position + 1]
        if marker in OTHER_FRAMES:
            return False
        if marker in SEQUENTIAL_FRAMES:
            if components is not None or position + 10 > len(data):
                return False  # a second frame
            components = data[position + 9]
        if marker == START_OF_SCAN:
            # In the entropy-coded data every 0xFF byte is followed by 0x00 or a restart
            # marker, so each 0xFF 0xDA from here on starts a scan.
            scans = data.count(b"\xff\xda", position)
            return components is not None and 1 <= scans <= components
        position += 2 + (data[position + 2] << 8 | data[position + 3])
    return False
