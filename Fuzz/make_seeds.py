"""Writes the seed corpora Fuzz/corpus/<target>/ (deterministic: rerunning reproduces the files byte for byte).

    python3 Fuzz/make_seeds.py            # needs Pillow, NumPy and safetensors (the training extras)

Images: every PNG/JPEG flavour the decoders handle, at the service's 150×150 (the server refuses any other
size from the header, so 150×150 seeds are what lets the fuzzer reach pixel decoding under server limits)
plus the 23×17 codec fixtures, which reach it under the CLI's limits. Pixels are a blurred, posterized H&E
patch, so each file stays a few KB (libFuzzer mutates small inputs faster). Tensors: tiny valid files of each
dtype / version. Request parsing: realistic multipart bodies and header values.
"""
import io
import json
import shutil
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "Fuzz" / "corpus"
FIXTURES = ROOT / "Tests" / "ImageCodecsTests" / "Fixtures"


def reset(target: str) -> Path:
    folder = CORPUS / target
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def patch() -> Image.Image:
    """A 150×150 RGB patch that compresses well: the example patch, blurred and reduced to few levels."""
    image = Image.open(ROOT / "examples" / "patch0.png").convert("RGB").filter(ImageFilter.GaussianBlur(3))
    return Image.fromarray((np.asarray(image) // 32 * 32).astype(np.uint8))


def png_seeds() -> None:
    import sys
    sys.path.insert(0, str(ROOT / "training" / "scripts"))
    from make_codec_fixtures import make_png  # the fixtures' hand-made writer: Adam7, 16-bit colour, tRNS

    out = reset("png")
    rgb = patch()
    pixels = np.asarray(rgb)
    gray = np.asarray(rgb.convert("L"))
    alpha = np.tile(np.linspace(0, 255, 150, dtype=np.uint8), (150, 1))
    palette = rgb.quantize(colors=16)
    plte = bytes(palette.getpalette()[: 16 * 3])
    indices = np.asarray(palette)
    seeds = {
        "rgb8": make_png(pixels, 2, 8),
        "rgb8_interlaced": make_png(pixels, 2, 8, interlace=True),
        "rgb16_gama": make_png(pixels.astype(np.uint16) * 257, 2, 16, extra=[chunk(b"gAMA", struct.pack(">I", 45455))]),
        "rgba8": make_png(np.dstack([pixels, alpha]), 6, 8),
        "rgba16_interlaced": make_png(np.dstack([pixels, alpha]).astype(np.uint16) * 257, 6, 16, interlace=True),
        "gray8_trns": make_png(gray, 0, 8, trns=struct.pack(">H", int(gray[0, 0]))),
        "gray16": make_png(gray.astype(np.uint16) * 257, 0, 16),
        "gray2": make_png(gray >> 6, 0, 2),
        "gray_alpha8": make_png(np.dstack([gray, alpha]), 4, 8),
        "palette4_trns": make_png(indices, 3, 4, plte=plte, trns=bytes([0, 128])),
        "palette8_interlaced": make_png(indices, 3, 8, plte=plte, interlace=True),
    }
    for name, data in seeds.items():
        (out / f"150_{name}.png").write_bytes(data)
    for fixture in sorted(FIXTURES.glob("*.png")):
        shutil.copy(fixture, out / f"fixture_{fixture.name}")


def chunk(kind: bytes, data: bytes) -> bytes:
    import zlib
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def jpeg_seeds() -> None:
    out = reset("jpeg")
    rgb = patch()
    variants = {
        "baseline_420": (rgb, {"quality": 60}),
        "baseline_444": (rgb, {"quality": 60, "subsampling": 0}),
        "progressive": (rgb, {"quality": 60, "progressive": True}),
        "gray": (rgb.convert("L"), {"quality": 60}),
        "cmyk": (rgb.convert("CMYK"), {"quality": 60}),
        "optimized_restart": (rgb, {"quality": 60, "optimize": True, "restart_marker_blocks": 4}),
    }
    for name, (image, options) in variants.items():
        image.save(out / f"150_{name}.jpg", **options)
    for fixture in sorted(FIXTURES.glob("*.jpg")):
        shutil.copy(fixture, out / f"fixture_{fixture.name}")


def safetensors_file(entries: dict, payload: bytes, metadata: dict | None = None) -> bytes:
    header = dict(entries)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + payload


def safetensors_seeds() -> None:
    from safetensors.numpy import save

    out = reset("safetensors")
    conv = np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3) / 7
    (out / "f32_conv.safetensors").write_bytes(save({"enc.conv.weight": conv, "enc.conv.bias": conv[:, 0, 0, 0].copy()},
                                                    metadata={"format": "pt"}))
    (out / "f16.safetensors").write_bytes(save({"w": conv.astype(np.float16)}))
    (out / "i64_counter.safetensors").write_bytes(save({"bn.num_batches_tracked": np.array(7, dtype=np.int64),
                                                        "bn.running_mean": np.zeros(2, np.float32)}))
    (out / "empty_tensor.safetensors").write_bytes(save({"e": np.zeros((0, 3), np.float32)}))
    bf16 = (np.array([1.0, -2.5, 3.25], np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    (out / "bf16.safetensors").write_bytes(
        safetensors_file({"b": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}, bf16))
    (out / "mixed_dtypes.safetensors").write_bytes(safetensors_file(
        {"u": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
         "f": {"dtype": "F64", "shape": [1], "data_offsets": [2, 10]},
         "s": {"dtype": "F32", "shape": [], "data_offsets": [10, 14]}},
        b"\x01\x02" + struct.pack("<d", 0.5) + struct.pack("<f", 1.5), metadata={"k": "v"}))
    (out / "header_only.safetensors").write_bytes(safetensors_file({}, b""))


def npy_bytes(array: np.ndarray, version: tuple[int, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    return buffer.getvalue()


def npy_seeds() -> None:
    out = reset("npy")
    batch = (np.arange(1 * 3 * 4 * 4, dtype=np.float32).reshape(1, 3, 4, 4) / 9)
    (out / "batch_1x3x4x4.npy").write_bytes(npy_bytes(batch))
    (out / "vector.npy").write_bytes(npy_bytes(np.array([0.5, -1, np.inf], np.float32)))
    (out / "scalar.npy").write_bytes(npy_bytes(np.array(3.0, np.float32)))
    (out / "empty.npy").write_bytes(npy_bytes(np.zeros((0, 3), np.float32)))
    (out / "version2.npy").write_bytes(npy_bytes(batch[:, :1, :2, :2], version=(2, 0)))
    (out / "big_endian.npy").write_bytes(npy_bytes(np.array([1, 2], ">f4")))
    (out / "fortran.npy").write_bytes(npy_bytes(np.asfortranarray(batch[0, 0])))
    (out / "float64.npy").write_bytes(npy_bytes(np.array([1.0, 2.0])))


def multipart_body(boundary: str, parts: list[tuple[list[str], bytes]], newline: str = "\r\n",
                   preamble: str = "", epilogue: str = "\r\n") -> bytes:
    body = preamble.encode()
    for headers, content in parts:
        body += f"--{boundary}{newline}".encode() + "".join(h + newline for h in headers).encode()
        body += newline.encode() + content + newline.encode()
    return body + f"--{boundary}--{epilogue}".encode()


def multipart_seeds() -> None:
    """Each seed is "<Content-Type value>\n<body>" (Fuzz/targets/multipart.swift)."""
    out = reset("multipart")
    png = (CORPUS / "png" / "fixture_gray1.png").read_bytes()
    jpeg = (CORPUS / "jpeg" / "fixture_gray.jpg").read_bytes()[:200]

    def patch_part(name: str, data: bytes, kind: str = "image/png") -> tuple[list[str], bytes]:
        return [f'Content-Disposition: form-data; name="patch"; filename="{name}"', f"Content-Type: {kind}"], data

    seeds = {
        "two_patches": ("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
                        "----WebKitFormBoundary7MA4YWxkTrZu0gW", [patch_part("a.png", png), patch_part("b.jpg", jpeg, "image/jpeg")], {}),
        "quoted_boundary": ('multipart/form-data; boundary="a b:c?=d"', "a b:c?=d", [patch_part("x.png", png)], {}),
        "curl_style": ("multipart/form-data; boundary=------------------------d74496d66958873e",
                       "------------------------d74496d66958873e",
                       [([ 'Content-Disposition: form-data; name="patch"; filename="p.png"',
                           "Content-Type: application/octet-stream"], png)], {}),
        "many_fields": ("multipart/form-data; boundary=x", "x",
                        [([f"X-Field-{i}: value {i}" for i in range(6)] + ['Content-Disposition: form-data; name="patch"'], b"")] * 3, {}),
        "escaped_filename": ("multipart/form-data; boundary=q", "q",
                             [([ 'Content-Disposition: form-data; name="patch"; filename="x \\"1\\".png"'], png)], {}),
        "lf_only": ("multipart/form-data; boundary=L", "L", [patch_part("lf.png", b"data")], {"newline": "\n"}),
    }
    for name, (content_type, boundary, parts, options) in seeds.items():
        (out / f"{name}.txt").write_bytes(content_type.encode() + b"\n" + multipart_body(boundary, parts, **options))
    (out / "preamble_padding_epilogue.txt").write_bytes(
        b"Multipart/Form-Data; charset=utf-8; boundary=B\nThis is the preamble.\r\n--B  \r\n"
        b"content-disposition:form-data;name=patch\r\n\r\nAB\r\n-B\r\n--B\t\r\n\r\n\r\n--B--\r\ntrailing epilogue")
    (out / "truncated.txt").write_bytes(b"multipart/form-data; boundary=T\n--T\r\nX: y\r\n\r\nAAAA")


def header_seeds() -> None:
    out = reset("media-type")
    for i, value in enumerate([
        "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
        'multipart/form-data; boundary="quoted; with \\"escapes\\""; charset=UTF-8',
        'form-data; name="patch"; filename="tile 1.png"',
        "form-data; name=patch; filename*=UTF-8''%E2%82%AC.png",
        "IMAGE/PNG ; q=0.5;;  =x; bare; a=1; a=2",
        'application/json; charset="unterminated',
        "image/jpeg\t;\tx = y",
    ]):
        (out / f"value{i}.txt").write_bytes(value.encode())
    out = reset("accept")
    for i, value in enumerate([
        "application/json",
        "image/png, application/json;q=0.9, */*;q=0.1",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        "image/*;q=0.5, application/*;q=0",
        "*/json, image/png;q=1.5, image/png;q=0.001, image/png;Q=.5",
        "application/json;q=1e-3;level=1 , ,image/png;q=\"0.7\"",
    ]):
        (out / f"accept{i}.txt").write_bytes(value.encode())


def infer_request_seeds() -> None:
    """`POST /v2/models/{name}/infer` bodies as tritonclient sends them, behind the target's 2-byte selector of
    Inference-Header-Content-Length (0xFFFF: JSON only). Small shapes keep the seeds small; the parser does not
    know the model's shape (the plan checks it), so they reach every branch."""
    folder = reset("infer-request")
    pixels = bytes((i * 37) % 256 for i in range(2 * 2 * 3))
    floats = struct.pack("<4f", -1.0, 0.5, 0.0, 1.0)
    json_only = {"id": "seed", "inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 2, 2, 3],
                                           "data": [[[list(pixels[0:3]), list(pixels[3:6])], [list(pixels[6:9]), list(pixels[9:12])]]]}],
                 "outputs": [{"name": "score"}, {"name": "verdict", "parameters": {"binary_data": False}}],
                 "parameters": {"timeout": 5000000, "fpr": 0.01}}
    text = json.dumps(json_only).encode()
    (folder / "json-uint8").write_bytes(b"\xff\xff" + text)
    for name, datatype, raw in [("image", "UINT8", pixels), ("input", "FP32", floats)]:
        shape = [1, 2, 2, 3] if datatype == "UINT8" else [1, 1, 2, 2]
        header = json.dumps({"inputs": [{"name": name, "datatype": datatype, "shape": shape,
                                         "parameters": {"binary_data_size": len(raw)}}],
                             "parameters": {"binary_data_output": True}}).encode()
        (folder / f"binary-{datatype.lower()}").write_bytes(struct.pack(">H", len(header)) + header + raw)
    strings = json.dumps({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [2], "data": ["normal", "anomalous"]}]}).encode()
    (folder / "json-bytes").write_bytes(b"\xff\xff" + strings)


if __name__ == "__main__":
    png_seeds()
    jpeg_seeds()
    safetensors_seeds()
    npy_seeds()
    multipart_seeds()
    header_seeds()
    for target in sorted(CORPUS.iterdir()):
        files = list(target.iterdir())
        print(f"{target.name}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
    infer_request_seeds()
