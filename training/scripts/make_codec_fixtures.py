#!/usr/bin/env python3
"""Generate the ImageCodecs test fixtures (Tests/ImageCodecsTests/Fixtures/).

Deterministic (fixed seed, no timestamps): rerunning rewrites byte-identical files,
so `git diff` after a rerun shows only intentional changes.

For every decodable fixture `<name>` we also write `<name>.rgb`: the expected decode
as raw (H, W, 3) uint8 RGB, computed here in numpy with exactly the rules the Swift
decoder documents, so the test compares against an independent implementation:

  * 16-bit samples -> 8-bit:  v8 = (v16 * 255 + 32767) // 65535   (libpng png_set_scale_16)
  * alpha (incl. tRNS) composited on white:  out = (c*a + 255*(255-a) + 127) // 255
  * gray -> RGB by replication; gray bit depths 1/2/4 expand as v * (255 // (2**bd - 1))
  * gAMA is ignored (like PIL).

PNGs that Pillow cannot write (16-bit colour, Adam7, low bit depths, tRNS colour keys)
are assembled by hand with zlib + CRC. JPEG expectations are Pillow's own decode
(Pillow bundles a different libjpeg-turbo, so the tests allow max |diff| <= 2).

Usage:  python training/scripts/make_codec_fixtures.py [--kather-dir DIR] [--out DIR]
"""
from __future__ import annotations

import argparse
import io
import pathlib
import struct
import zlib

import numpy as np
from PIL import Image

W, H = 23, 17
SEED = 20160616  # Kather et al. 2016 publication date; any fixed value works
REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "Tests" / "ImageCodecsTests" / "Fixtures"
# The repository's data lives next to it, outside it: ../shared/data (override: --kather-dir).
DEFAULT_KATHER = REPO.parent / "shared" / "data" / "tiles" / "kather2016"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Adam7 passes as (x0, y0, dx, dy).
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


# --- expected-value rules (mirror the Swift doc comments) -------------------------------

def scale16(v: np.ndarray) -> np.ndarray:
    return ((v.astype(np.uint64) * 255 + 32767) // 65535).astype(np.uint8)


def composite_on_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.uint32)
    a = alpha.astype(np.uint32)[..., None]
    return ((c * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def gray_to_rgb(g: np.ndarray) -> np.ndarray:
    return np.repeat(g[..., None], 3, axis=2).astype(np.uint8)


# --- hand-made PNG writer ---------------------------------------------------------------

def chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _scanlines(samples: np.ndarray, bit_depth: int) -> bytes:
    """Filter-type-0 scanlines for an (h, w, c) sample array."""
    out = bytearray()
    for row in samples:
        flat = row.reshape(-1)
        if bit_depth == 16:
            data = flat.astype(">u2").tobytes()
        elif bit_depth == 8:
            data = flat.astype(np.uint8).tobytes()
        else:  # pack 1/2/4-bit samples MSB-first, pad the last byte with zeros
            per_byte = 8 // bit_depth
            padded = np.zeros(-(-flat.size // per_byte) * per_byte, dtype=np.uint8)
            padded[: flat.size] = flat
            groups = padded.reshape(-1, per_byte)
            shifts = np.array([8 - bit_depth * (i + 1) for i in range(per_byte)], dtype=np.uint8)
            data = np.bitwise_or.reduce(groups << shifts, axis=1).astype(np.uint8).tobytes()
        out += b"\x00" + data
    return bytes(out)


def make_png(samples: np.ndarray, color_type: int, bit_depth: int, *, plte: bytes | None = None,
             trns: bytes | None = None, interlace: bool = False, extra: list[bytes] = ()) -> bytes:
    if samples.ndim == 2:
        samples = samples[..., None]
    h, w = samples.shape[:2]
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, int(interlace))
    if interlace:
        raw = b"".join(_scanlines(samples[y0::dy, x0::dx], bit_depth)
                       for x0, y0, dx, dy in ADAM7 if x0 < w and y0 < h)
    else:
        raw = _scanlines(samples, bit_depth)
    body = [chunk(b"IHDR", ihdr), *extra]
    if plte is not None:
        body.append(chunk(b"PLTE", plte))
    if trns is not None:
        body.append(chunk(b"tRNS", trns))
    body += [chunk(b"IDAT", zlib.compress(raw, 9)), chunk(b"IEND", b"")]
    return PNG_SIGNATURE + b"".join(body)


def pillow_bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def pillow_rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


# --- fixture set --------------------------------------------------------------------------

def smooth_rgb(rng: np.random.Generator) -> np.ndarray:
    """Gradient + noise: realistic for JPEG (pure noise would be all artefacts)."""
    y, x = np.mgrid[0:H, 0:W]
    base = np.stack([x * 255 / (W - 1), y * 255 / (H - 1), (x + y) * 255 / (W + H - 2)], axis=2)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def build(kather_dir: pathlib.Path) -> dict[str, bytes]:
    """Returns {file name: bytes} for the whole fixture set."""
    rng = np.random.default_rng(SEED)
    files: dict[str, bytes] = {}

    def add(name: str, data: bytes, expected: np.ndarray | None = None) -> None:
        files[name] = data
        if expected is not None:
            assert expected.shape[2] == 3 and expected.dtype == np.uint8, name
            files[name + ".rgb"] = np.ascontiguousarray(expected).tobytes()

    def u8(*shape: int) -> np.ndarray:
        return rng.integers(0, 256, shape, dtype=np.uint8)

    def u16(*shape: int) -> np.ndarray:
        return rng.integers(0, 65536, shape, dtype=np.uint16)

    def alpha8() -> np.ndarray:  # random alpha with the edge cases 0 and 255 guaranteed present

        a = u8(H, W); a[0, :4] = 0; a[1, :4] = 255
        return a

    # PNG, written by Pillow
    g8 = u8(H, W)
    add("gray8.png", pillow_bytes(Image.fromarray(g8), "PNG"), gray_to_rgb(g8))
    la = np.stack([u8(H, W), alpha8()], axis=2)
    add("gray_alpha8.png", pillow_bytes(Image.fromarray(la), "PNG"),
        composite_on_white(gray_to_rgb(la[..., 0]), la[..., 1]))
    rgb8 = u8(H, W, 3)
    rgb8_png = pillow_bytes(Image.fromarray(rgb8), "PNG")
    add("rgb8.png", rgb8_png, rgb8)
    rgba8 = np.concatenate([u8(H, W, 3), alpha8()[..., None]], axis=2)
    add("rgba8.png", pillow_bytes(Image.fromarray(rgba8), "PNG"), composite_on_white(rgba8[..., :3], rgba8[..., 3]))

    # PNG, hand-assembled
    g16 = u16(H, W)
    add("gray16.png", make_png(g16, 0, 16), gray_to_rgb(scale16(g16)))
    g4 = rng.integers(0, 16, (H, W), dtype=np.uint8)
    add("gray4.png", make_png(g4, 0, 4), gray_to_rgb(g4 * 17))
    g1 = rng.integers(0, 2, (H, W), dtype=np.uint8)
    add("gray1.png", make_png(g1, 0, 1), gray_to_rgb(g1 * 255))
    gk = u8(H, W); gk[::3, ::2] = 77  # tRNS colour key: value 77 is fully transparent
    add("gray8_trns.png", make_png(gk, 0, 8, trns=struct.pack(">H", 77)),
        composite_on_white(gray_to_rgb(gk), np.where(gk == 77, 0, 255)))
    la16 = u16(H, W, 2); la16[0, :4, 1] = 0; la16[1, :4, 1] = 65535
    add("gray_alpha16.png", make_png(la16, 4, 16),
        composite_on_white(gray_to_rgb(scale16(la16[..., 0])), scale16(la16[..., 1])))
    rgb16 = u16(H, W, 3)
    gama = chunk(b"gAMA", struct.pack(">I", 45455 * 2))  # must be ignored (no gamma correction)
    add("rgb16_gama.png", make_png(rgb16, 2, 16, extra=[gama]), scale16(rgb16))
    rgba16 = u16(H, W, 4); rgba16[0, :4, 3] = 0; rgba16[1, :4, 3] = 65535
    add("rgba16.png", make_png(rgba16, 6, 16), composite_on_white(scale16(rgba16[..., :3]), scale16(rgba16[..., 3])))
    # Palette with a tRNS shorter than the palette: later entries are opaque.
    palette = u8(16, 3)
    palette_alpha = np.array([0, 255, 128, 64, 200, 1, 254, 30, 90, 170], dtype=np.uint8)
    idx = rng.integers(0, 16, (H, W), dtype=np.uint8)
    full_alpha = np.concatenate([palette_alpha, np.full(16 - palette_alpha.size, 255, np.uint8)])
    add("palette8_trns.png", make_png(idx, 3, 8, plte=palette.tobytes(), trns=palette_alpha.tobytes()),
        composite_on_white(palette[idx], full_alpha[idx]))
    add("palette4.png", make_png(idx, 3, 4, plte=palette.tobytes()), palette[idx])
    rk = u8(H, W, 3); key = np.array([10, 20, 30], np.uint8); rk[::2, ::3] = key
    rk_alpha = np.where(np.all(rk == key, axis=2), 0, 255)
    add("rgb8_trns.png", make_png(rk, 2, 8, trns=struct.pack(">HHH", *key.tolist())),
        composite_on_white(rk, rk_alpha))
    ri = u8(H, W, 3)
    add("rgb8_interlaced.png", make_png(ri, 2, 8, interlace=True), ri)
    rai = u16(H, W, 4)
    add("rgba16_interlaced.png", make_png(rai, 6, 16, interlace=True),
        composite_on_white(scale16(rai[..., :3]), scale16(rai[..., 3])))

    # JPEG: the expectation is Pillow's decode.
    smooth = Image.fromarray(smooth_rgb(rng))
    baseline = pillow_bytes(smooth, "JPEG", quality=90)
    add("rgb_baseline.jpg", baseline, pillow_rgb(baseline))
    progressive = pillow_bytes(Image.fromarray(smooth_rgb(rng)), "JPEG", quality=85, progressive=True)
    add("rgb_progressive.jpg", progressive, pillow_rgb(progressive))
    gray_jpg = pillow_bytes(Image.fromarray(smooth_rgb(rng)[..., 1]), "JPEG", quality=90)
    add("gray.jpg", gray_jpg, pillow_rgb(gray_jpg))
    cmyk_src = np.concatenate([smooth_rgb(rng), u8(H, W, 1) // 2], axis=2)
    # Pillow writes CMYK JPEGs Adobe-style (inverted, with an APP14 "Adobe" marker).
    cmyk_jpg = pillow_bytes(Image.frombytes("CMYK", (W, H), cmyk_src.tobytes()), "JPEG", quality=90)
    add("cmyk.jpg", cmyk_jpg, pillow_rgb(cmyk_jpg))

    # One real H&E patch (provenance in README.md).
    tile_path = sorted((kather_dir / "01_TUMOR").glob("*.tif"))[0]
    with Image.open(tile_path) as tile:
        patch = tile.convert("RGB").crop((43, 43, 107, 107))
    patch_png = pillow_bytes(patch, "PNG", optimize=True)
    add("kather_patch.png", patch_png, np.asarray(patch))
    patch_jpg = pillow_bytes(patch, "JPEG", quality=90)
    add("kather_patch.jpg", patch_jpg, pillow_rgb(patch_jpg))

    # Broken inputs (no expectations: each must throw a specific ImageCodecError).
    # Cut inside the entropy-coded scan, where libjpeg would otherwise pad with grey.
    scan = baseline.index(b"\xff\xda")
    add("truncated.jpg", baseline[: scan + (len(baseline) - scan) // 2])
    idat = rgb8_png.index(b"IDAT")
    idat_len = struct.unpack(">I", rgb8_png[idat - 4: idat])[0]
    add("truncated.png", rgb8_png[: idat + 4 + idat_len // 2])
    crc_at = idat + 4 + idat_len
    add("bad_crc.png", rgb8_png[:crc_at] + bytes([rgb8_png[crc_at] ^ 0xFF]) + rgb8_png[crc_at + 1:])
    bomb_ihdr = struct.pack(">IIBBBBB", 5000, 5000, 8, 2, 0, 0, 0)
    add("bomb_5000x5000.png", PNG_SIGNATURE + chunk(b"IHDR", bomb_ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * (1 + 5000 * 3) * 4, 9)) + chunk(b"IEND", b""))
    sof = baseline.index(b"\xff\xc0")  # SOF0: marker, length(2), precision(1), height(2), width(2)
    add("bomb_5000x5000.jpg", baseline[: sof + 5] + struct.pack(">HH", 5000, 5000) + baseline[sof + 9:])

    # Sanity: Pillow accepts every hand-made PNG (catches writer bugs, not decoder rules).
    for name, data in files.items():
        if name.endswith(".png") and not name.startswith(("truncated", "bad_crc", "bomb")):
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                assert im.size == ((64, 64) if name.startswith("kather") else (W, H)), name
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    ap.add_argument("--kather-dir", type=pathlib.Path, default=DEFAULT_KATHER)
    args = ap.parse_args()
    files = build(args.kather_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        (args.out / name).write_bytes(data)
    total = sum(len(d) for d in files.values())
    print(f"wrote {len(files)} files, {total} bytes, to {args.out}")


if __name__ == "__main__":
    main()
