"""Hostile and broken request bodies, built deterministically in memory (Pillow, NumPy, zlib; no files, no seed drift).

Used by `live_tests/test_hostile.py` and `bench/attack_load.py`:

    from hostile_corpus import image_corpus, text_bomb_png, many_scan_jpeg
    for case in image_corpus(png):                       # png: a valid 150×150 RGB patch
        status = post(case.body, case.content_type)      # case.expected: the status the contract asks for

PNGs that Pillow cannot write (16-bit colour, Adam7, hand-made chunk sequences) reuse the codec fixtures'
hand-made writer in training/scripts/make_codec_fixtures.py, so there is one PNG writer in the repository.
"""
from __future__ import annotations

import io
import pathlib
import struct
import sys
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "training" / "scripts"))
from make_codec_fixtures import chunk as png_chunk, make_png  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIDE = 150


@dataclass(frozen=True)
class Case:
    """One hostile body: `expected` is the status the contract asks for (a tuple when several are allowed)."""
    name: str
    body: bytes
    content_type: str
    expected: int | tuple

    @property
    def allowed(self) -> tuple:
        return self.expected if isinstance(self.expected, tuple) else (self.expected,)


# MARK: PNG surgery

def png_chunks(data: bytes) -> list:
    """[(tag, payload)] of a PNG, CRCs not checked."""
    chunks, at = [], len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, tag = struct.unpack(">I4s", data[at:at + 8])
        chunks.append((tag, data[at + 8:at + 8 + length]))
        at += 12 + length
    return chunks


def assemble_png(chunks: list) -> bytes:
    return PNG_SIGNATURE + b"".join(png_chunk(tag, payload) for tag, payload in chunks)


def insert_before_idat(png: bytes, extra: list) -> bytes:
    """The PNG with `extra` chunks [(tag, payload)] placed before its first IDAT (read by png_read_info)."""
    chunks = png_chunks(png)
    first = next(i for i, (tag, _) in enumerate(chunks) if tag == b"IDAT")
    return assemble_png(chunks[:first] + extra + chunks[first:])


def flat_png(width: int, height: int) -> bytes:
    """An all-black 8-bit RGB PNG of any declared size: 4096×4096 is about 50 KB (zeros deflate ~1000:1)."""
    compressor = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return assemble_png([(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")])


def text_bomb_png(png: bytes, count: int = 240, inflated_bytes: int = 3_500_000) -> bytes:
    """`png` with `count` compressed text chunks (alternately zTXt and iTXt) before IDAT, each inflating to
    `inflated_bytes` (the defaults: ~840 MB inflated in a ~0.85 MB body, under a 1 MiB body limit)."""
    deflated = zlib.compress(bytes(inflated_bytes), 9)
    extra = []
    for i in range(count):
        if i % 2 == 0:
            extra.append((b"zTXt", b"Comment%d\x00\x00" % i + deflated))
        else:   # keyword, NUL, compression flag 1, method 0, language tag NUL, translated keyword NUL, text
            extra.append((b"iTXt", b"Comment%d\x00\x01\x00en\x00\x00" % i + deflated))
    return insert_before_idat(png, extra)


def idat_bomb_png(extra_bytes: int = 64 * 1024 * 1024) -> bytes:
    """A 150×150 RGB PNG whose IDAT inflates to `extra_bytes` more than the image needs (~64 KB on the wire)."""
    compressor = zlib.compressobj(9)
    raw = bytes((1 + 3 * SIDE) * SIDE)
    idat = compressor.compress(raw)
    block = bytes(1 << 20)
    for _ in range(extra_bytes >> 20):
        idat += compressor.compress(block)
    idat += compressor.flush()
    ihdr = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0)
    return assemble_png([(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")])


def with_bad_crc(png: bytes, tag: bytes) -> bytes:
    """The first `tag` chunk's CRC inverted."""
    at = len(PNG_SIGNATURE)
    while True:
        length, found = struct.unpack(">I4s", png[at:at + 8])
        if found == tag:
            end = at + 8 + length
            crc = struct.unpack(">I", png[end:end + 4])[0] ^ 0xFFFFFFFF
            return png[:end] + struct.pack(">I", crc) + png[end + 4:]
        at += 12 + length


def with_size(png: bytes, width: int, height: int) -> bytes:
    """The PNG with its IHDR rewritten to declare `width`×`height` (CRC recomputed; the pixels unchanged)."""
    chunks = png_chunks(png)
    ihdr = struct.pack(">II", width, height) + chunks[0][1][8:]
    return assemble_png([(b"IHDR", ihdr), *chunks[1:]])


def with_corrupt_idat(png: bytes) -> bytes:
    """Bytes in the middle of the deflate stream changed, with a valid CRC: the damage is in the data itself."""
    chunks = png_chunks(png)
    out = []
    for tag, payload in chunks:
        if tag == b"IDAT":
            middle = len(payload) // 2
            payload = payload[:middle] + bytes(b ^ 0x5A for b in payload[middle:middle + 16]) + payload[middle + 16:]
        out.append((tag, payload))
    return assemble_png(out)


# MARK: JPEG surgery

def jpeg_scans(jpeg: bytes) -> tuple:
    """(header: bytes before the first SOS, scans: [each SOS segment with its entropy-coded data])."""
    at, first_sos, starts = 2, None, []
    while at < len(jpeg):
        if jpeg[at] != 0xFF:
            at += 1
            continue
        marker = jpeg[at + 1]
        if marker == 0x00 or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            at += 1 if marker == 0xFF else 2
            continue
        if marker == 0xD9:      # EOI
            starts.append(at)
            break
        if marker == 0xDA:
            first_sos = at if first_sos is None else first_sos
        starts.append(at)
        length = struct.unpack(">H", jpeg[at + 2:at + 4])[0]
        at += 2 + length
    segments = [jpeg[a:b] for a, b in zip(starts, starts[1:])]
    scans = [s for s in segments if s[1] == 0xDA]
    # Tables between scans (DHT for the next scan) travel with the scan before them.
    merged = []
    for segment in segments[[i for i, s in enumerate(segments) if s[1] == 0xDA][0]:]:
        if segment[1] == 0xDA or not merged:
            merged.append(segment)
        else:
            merged[-1] += segment
    assert len(merged) == len(scans)
    return jpeg[:first_sos], merged


def many_scan_jpeg(image: Image.Image, scans: int) -> bytes:
    """A progressive JPEG of `image` whose smallest scan is repeated until the file has `scans` scans. libjpeg
    only warns about the repeated progression (JWRN_BOGUS_PROGRESSION) and decodes each again: the CPU bomb
    that `djpeg -maxscans` guards against."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=75, progressive=True)
    header, parts = jpeg_scans(out.getvalue())
    smallest = min(parts, key=len)
    return header + b"".join(parts) + smallest * max(0, scans - len(parts)) + b"\xff\xd9"


# MARK: the corpus

def _pillow(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def image_corpus(png: bytes) -> list:
    """Broken, odd and wrong-sized single-image bodies made from one valid 150×150 RGB PNG patch."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    image = Image.fromarray(rgb)
    jpeg = _pillow(image, "JPEG", quality=90)
    rgba = np.concatenate([rgb, np.full((SIDE, SIDE, 1), 200, np.uint8)], axis=2)
    wide16 = (rgb.astype(np.uint16) * 257)
    gray = np.asarray(image.convert("L"))
    cases = [
        # Valid but unusual: each decodes to 150×150 RGB and is scored.
        Case("16-bit RGB PNG", make_png(wide16, 2, 16), "image/png", 200),
        Case("16-bit RGBA PNG, interlaced", make_png(np.concatenate([wide16, np.full((SIDE, SIDE, 1), 65535, np.uint16)], 2),
                                                     6, 16, interlace=True), "image/png", 200),
        Case("palette PNG", _pillow(image.quantize(64), "PNG"), "image/png", 200),
        Case("interlaced RGB PNG", make_png(rgb, 2, 8, interlace=True), "image/png", 200),
        Case("gray PNG", _pillow(Image.fromarray(gray), "PNG"), "image/png", 200),
        Case("gray+alpha PNG", _pillow(Image.fromarray(np.stack([gray, rgba[..., 3]], 2), "LA"), "PNG"), "image/png", 200),
        Case("RGBA PNG", _pillow(Image.fromarray(rgba, "RGBA"), "PNG"), "image/png", 200),
        Case("PNG with a tEXt chunk", _pillow(image, "PNG", pnginfo=_text_info()), "image/png", 200),
        Case("CMYK JPEG", _pillow(image.convert("CMYK"), "JPEG", quality=90), "image/jpeg", 200),
        Case("gray JPEG", _pillow(Image.fromarray(gray), "JPEG", quality=90), "image/jpeg", 200),
        Case("progressive JPEG", _pillow(image, "JPEG", quality=90, progressive=True), "image/jpeg", 200),
        Case("progressive JPEG with 32 scans (the most allowed)", many_scan_jpeg(image, 32), "image/jpeg", 200),
        Case("progressive JPEG with 33 scans", many_scan_jpeg(image, 33), "image/jpeg", 422),
        Case("JPEG labelled image/png (the format is sniffed)", jpeg, "image/png", 200),
        # Wrong sizes: 422 naming the size.
        *[Case(f"{w}×{h} {fmt}", _pillow(image.resize((w, h)), fmt), f"image/{fmt.lower()}", 422)
          for w, h in ((149, 150), (151, 150), (1, 1), (300, 300)) for fmt in ("PNG", "JPEG")],
        # Corrupt or truncated: 422.
        *[Case(f"PNG cut at {n} of {len(png)} bytes", png[:n], "image/png", 422)
          for n in (8, 20, 33, 41, 200, len(png) // 2, len(png) - 20)],
        *[Case(f"JPEG cut at {n} of {len(jpeg)} bytes", jpeg[:n], "image/jpeg", 422)
          for n in (2, 4, 100, 600, len(jpeg) // 2, len(jpeg) - 10)],
        Case("PNG with a bad IHDR CRC", with_bad_crc(png, b"IHDR"), "image/png", 422),
        Case("PNG with a bad IDAT CRC", with_bad_crc(png, b"IDAT"), "image/png", 422),
        Case("PNG with corrupt deflate data (valid CRC)", with_corrupt_idat(png), "image/png", 422),
        Case("PNG header declaring 0×0 (valid CRC)", with_size(png, 0, 0), "image/png", 422),
        Case("PNG header declaring 2³¹−1 × 2³¹−1 (valid CRC)", with_size(png, 2**31 - 1, 2**31 - 1), "image/png", 422),
        Case("IDAT inflating to 64 MiB more than 150×150 needs", idat_bomb_png(), "image/png", (200, 422)),
        # Not PNG or JPEG: 422 when labelled as an image type the server takes, 415 when labelled as what it is.
        Case("text labelled image/png", b"this is not an image\n" * 10, "image/png", 422),
        Case("GIF magic labelled image/png", b"GIF89a" + bytes(200), "image/png", 422),
        Case("BMP magic labelled image/jpeg", b"BM" + bytes(200), "image/jpeg", 422),
        Case("WebP magic labelled image/png", b"RIFF\x00\x01\x00\x00WEBPVP8 " + bytes(200), "image/png", 422),
        Case("GIF labelled image/gif", _pillow(image, "GIF"), "image/gif", 415),
        Case("PNG magic only", PNG_SIGNATURE, "image/png", 422),
        Case("JPEG SOI then EOI", b"\xff\xd8\xff\xd9", "image/jpeg", 422),
        Case("empty body", b"", "image/png", 400),
    ]
    return cases


def _text_info():
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("Comment", "an innocent tEXt chunk")
    return info
