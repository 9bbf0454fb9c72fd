#!/usr/bin/env python3
"""Golden fixtures for the Swift engine's parity tests (deterministic, seeded, re-runnable).

Writes
  Tests/AutoencoderModelTests/Fixtures/parity_weights_f16.safetensors  seeded random CNNAutoencoder3, F16 (+ int64 BN counters)
  Tests/AutoencoderModelTests/Fixtures/patch{0,1,2}.png                 three real H&E 150x150 RGB patches
  Tests/AutoencoderModelTests/Fixtures/parity_io.safetensors           inputs, outputs, per-block outputs (F32)
  Tests/TensorKernelsTests/Fixtures/kernels.safetensors                per-kernel cases (F32)

Usage (from the repository root):
  python training/scripts/make_parity_fixtures.py [--repo-root .] [--data-root DIR]

--data-root defaults to ../shared/data next to the repository (the repository's data, kept outside it).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))  # training/

from histoae_training.model import CNNAutoencoder3, ChannelAttention, count_parameters  # noqa: E402
from histoae_training.preprocess import normalize_uint8_hwc  # noqa: E402
from histoae_training.safetensors_io import load_model, save_state_dict  # noqa: E402

MODEL_SEED = 20250611
KERNEL_SEED = 1234
NUM_BATCHES_TRACKED = 4096
INIT_GAIN = 1.4   # conv / conv-transpose weights
HEAD_GAIN = 1.3   # head conv (before tanh)
ATTN_GAIN = 2.0   # channel-attention 1x1 MLP
BLOCK_CHANNELS = 4   # a slice is enough to locate a failing layer; keeps all golden fixtures < 10 MB

# (fixture name, source relative to the data root, crop box (left, top, right, bottom) or None)
PATCHES = [
    ("patch0.png", "tiles/kather2016/01_TUMOR/1A11_CRC-Prim-HE-07_022.tif_Row_601_Col_151.tif", None),
    ("patch1.png", "tiles/histolab/tissue-level0-7352-11762-7864-12274.png", (64, 64, 214, 214)),
]


# --------------------------------------------------------------------------------------------- model

def make_random_model(seed: int = MODEL_SEED) -> CNNAutoencoder3:
    """Seeded random weights + randomized BatchNorm statistics/affine so BN folding is exercised.

    Conv weights are N(0, (gain^2)/fan_in) rather than PyTorch's default init: with the default the final
    output has std ~0.04 (too small to make a parity check meaningful); with these gains the three patches
    give outputs of std ~0.3 and max |y| ~0.9 (tanh exercised but not saturated). Biases ~ U(-0.1, 0.1).
    """
    torch.manual_seed(seed)
    model = CNNAutoencoder3()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.ConvTranspose2d):
                fan_in = m.in_channels * 9 / 4  # stride 2: each output pixel sees ~9/4 taps per input channel
                m.weight.normal_(0.0, INIT_GAIN / math.sqrt(fan_in), generator=g)
                m.bias.uniform_(-0.1, 0.1, generator=g)
            elif isinstance(m, torch.nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                gain = HEAD_GAIN if name == "head" else (ATTN_GAIN if ".attn." in name else INIT_GAIN)
                m.weight.normal_(0.0, gain / math.sqrt(fan_in), generator=g)
                if m.bias is not None:
                    m.bias.uniform_(-0.1, 0.1, generator=g)
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.2)       # N(0, 0.2)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)   # U(0.5, 2.0)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)              # U(0.5, 1.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)               # N(0, 0.1)
                m.num_batches_tracked.fill_(NUM_BATCHES_TRACKED)
    assert count_parameters(model) == 3_500_931
    return model.eval()


# --------------------------------------------------------------------------------------------- patches

def _png_chunks(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, names = 8, []
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        names.append(data[pos + 4:pos + 8].decode("ascii"))
        pos += 12 + n
    return names


def write_patches(data_root: Path, out_dir: Path) -> list[Path]:
    paths = []
    for name, rel, box in PATCHES:
        im = Image.open(data_root / rel)
        im.load()
        rgb = im.convert("RGB")
        if box is not None:
            rgb = rgb.crop(box)
        arr = np.asarray(rgb, dtype=np.uint8)
        assert arr.shape == (150, 150, 3), arr.shape
        # Fresh image from raw pixels: no ICC profile, gamma, dpi or text chunks carried over.
        out = out_dir / name
        Image.fromarray(np.ascontiguousarray(arr), mode="RGB").save(out, format="PNG", optimize=False,
                                                                     compress_level=9)
        chunks = _png_chunks(out)
        assert set(chunks) <= {"IHDR", "IDAT", "IEND"}, chunks
        back = np.asarray(Image.open(out))
        assert back.dtype == np.uint8 and back.shape == (150, 150, 3) and np.array_equal(back, arr)
        paths.append(out)
    return paths


def load_inputs(paths: list[Path]) -> torch.Tensor:
    """Decode the written PNGs with PIL and normalize, y = (x/255 - 0.5)/0.5."""
    return torch.stack([normalize_uint8_hwc(np.asarray(Image.open(p).convert("RGB"))) for p in paths])


# --------------------------------------------------------------------------------------------- kernels

def make_kernel_cases(seed: int = KERNEL_SEED) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)

    def rn(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).to(torch.float32)

    t: dict[str, torch.Tensor] = {}

    def conv_case(name, in_shape, w_shape, stride, padding):
        x, w, b = rn(*in_shape), rn(*w_shape, scale=0.3), rn(w_shape[0], scale=0.5)
        t[f"{name}.input"], t[f"{name}.weight"], t[f"{name}.bias"] = x, w, b
        t[f"{name}.output"] = F.conv2d(x, w, b, stride=stride, padding=padding)

    conv_case("conv_s1", (2, 5, 7, 9), (4, 5, 3, 3), 1, 1)
    conv_case("conv_s2", (2, 3, 11, 8), (6, 3, 3, 3), 2, 1)
    conv_case("conv_s2p0", (1, 4, 9, 10), (5, 4, 3, 3), 2, 0)

    x, w, b = rn(2, 3, 6, 5), rn(4, 3, 3, 3, scale=0.3), rn(4, scale=0.5)
    bw = torch.rand(4, generator=g) + 0.5
    bb = rn(4, scale=0.1)
    bm = rn(4, scale=0.2)
    bv = torch.rand(4, generator=g) * 1.5 + 0.5
    t.update({"conv_bn.input": x, "conv_bn.weight": w, "conv_bn.bias": b, "conv_bn.bn_weight": bw,
              "conv_bn.bn_bias": bb, "conv_bn.bn_mean": bm, "conv_bn.bn_var": bv})
    t["conv_bn.output"] = F.batch_norm(F.conv2d(x, w, b, stride=1, padding=1), bm, bv, bw, bb,
                                       training=False, eps=1e-5)

    x, w, b = rn(2, 6, 5, 7), rn(6, 4, 3, 3, scale=0.3), rn(4, scale=0.5)
    t.update({"convT.input": x, "convT.weight": w, "convT.bias": b})
    t["convT.output"] = F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)
    assert t["convT.output"].shape == (2, 4, 10, 14)

    for name, shape, size in (("resize_up", (2, 3, 19, 13), (20, 17)),
                              ("resize_down", (1, 2, 16, 16), (15, 15)),
                              ("resize_odd", (1, 2, 7, 11), (5, 13)),
                              ("resize_160", (1, 1, 160, 160), (150, 150)),
                              ("resize_75", (1, 2, 75, 75), (80, 80))):
        x = rn(*shape)
        t[f"{name}.input"] = x
        t[f"{name}.output"] = F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    x = torch.linspace(-10, 10, 4001, dtype=torch.float32)
    t["gelu.input"], t["gelu.output"] = x, F.gelu(x, approximate="none")

    att = ChannelAttention(32)
    x, w0, w2 = rn(2, 32, 5, 6), rn(2, 32, 1, 1, scale=0.5), rn(32, 2, 1, 1, scale=0.5)
    with torch.no_grad():
        att.mlp[0].weight.copy_(w0)
        att.mlp[2].weight.copy_(w2)
        t.update({"attention.input": x, "attention.mlp0": w0, "attention.mlp2": w2, "attention.output": att(x)})

    return {k: v.detach().to(torch.float32).contiguous() for k, v in t.items()}


# --------------------------------------------------------------------------------------------- main

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo-root", type=Path, default=HERE.parents[2])
    ap.add_argument("--data-root", type=Path, default=HERE.parents[3] / "shared/data")
    args = ap.parse_args(argv)

    torch.use_deterministic_algorithms(True)
    model_dir = args.repo_root / "Tests/AutoencoderModelTests/Fixtures"
    kern_dir = args.repo_root / "Tests/TensorKernelsTests/Fixtures"
    model_dir.mkdir(parents=True, exist_ok=True)
    kern_dir.mkdir(parents=True, exist_ok=True)

    # a) weights, stored F16; references are computed from exactly those values widened to f32.
    weights_path = model_dir / "parity_weights_f16.safetensors"
    save_state_dict(make_random_model().state_dict(), weights_path, dtype="float16",
                    metadata={"format": "pt"})  # one key only: safetensors orders metadata by a HashMap
    model = load_model(weights_path)

    # b) patches
    patch_paths = write_patches(args.data_root, model_dir)

    # c) parity I/O
    x = load_inputs(patch_paths)
    with torch.inference_mode():
        blocks = model.forward_blocks(x)
        out = model(x)
        out_b1 = model(x[-1:])
        out64 = model.to(torch.float64)(x.to(torch.float64))
        model.to(torch.float32)
    assert torch.equal(out, blocks["output"])
    io = {"input": x, "output": out, "output_batch1": out_b1}
    for k in ("enc1", "enc2", "enc3", "enc4", "up1", "fuse1", "up2", "fuse2", "up3", "fuse3", "up4", "head"):
        io[k] = blocks[k][0, :BLOCK_CHANNELS]
    io = {k: v.detach().to(torch.float32).contiguous() for k, v in io.items()}
    io_path = model_dir / "parity_io.safetensors"
    save_file(io, str(io_path))

    # d) kernels
    kern = make_kernel_cases()
    kern_path = kern_dir / "kernels.safetensors"
    save_file(kern, str(kern_path))

    # ---- sanity report
    print(f"weights : {weights_path} ({weights_path.stat().st_size} B, sha256 {_sha(weights_path)})")
    for p in patch_paths:
        print(f"patch   : {p} ({p.stat().st_size} B, sha256 {_sha(p)})")
    print(f"io      : {io_path} ({io_path.stat().st_size} B, sha256 {_sha(io_path)})")
    print(f"kernels : {kern_path} ({kern_path.stat().st_size} B, sha256 {_sha(kern_path)})")
    print(f"input  range [{x.min():.4f}, {x.max():.4f}]")
    print(f"output range [{out.min():.4f}, {out.max():.4f}], std {out.std():.4f}, "
          f"max|out| {out.abs().max():.4f}, frac |out|>0.99: {(out.abs() > 0.99).float().mean():.4f}")
    print(f"per-image output std: {[round(float(s), 4) for s in out.flatten(1).std(1)]}")
    print(f"max |output - output(batch of 1)| last image: {(out[-1:] - out_b1).abs().max():.3e}")
    print(f"max |f32 - f64| output: {(out.double() - out64).abs().max():.3e}")
    for k, v in blocks.items():
        print(f"  block {k:7s} {tuple(v.shape)!s:22s} max|.| {v.abs().max():9.4f}  std {v.std():.4f}")
    for k, v in kern.items():
        if k.endswith(".output"):
            print(f"  kernel {k:22s} {tuple(v.shape)!s:18s} max|.| {v.abs().max():.4f}")
    golden = sum(p.stat().st_size for p in [weights_path, io_path, *patch_paths])
    print(f"golden model fixture bytes: {golden}; kernel fixture bytes: {kern_path.stat().st_size}")
    assert golden < 10_000_000, "golden fixtures must stay under 10 MB"
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
