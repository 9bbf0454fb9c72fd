"""The exported model loads in the Swift engine and reconstructs like PyTorch (max abs <= 1e-4).

Runs ``histoae reconstruct --model M --format npy --output O.npy patch.png`` with the newest of
.build/{debug,release}/histoae (scripts/test.sh builds it before pytest); skipped when neither exists."""

import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO_ROOT
from histoae_training import load_model, normalize_uint8_hwc


def find_histoae():
    found = [p for p in (REPO_ROOT / ".build" / "debug" / "histoae", REPO_ROOT / ".build" / "release" / "histoae")
             if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def test_swift_reconstruct_matches_pytorch(tiny_run, tmp_path, test_patches):
    exe = find_histoae()
    if exe is None:
        pytest.skip("Swift CLI not built: neither .build/debug/histoae nor .build/release/histoae exists "
                    "(run `swift build` or scripts/test.sh)")
    png = tmp_path / "patch.png"
    rgb = np.asarray(Image.open(test_patches / "val" / "03_complex.png").convert("RGB"))
    Image.fromarray(rgb).save(png)
    weights = tiny_run["model"] / "model.safetensors"
    out = tmp_path / "out.npy"
    r = subprocess.run([str(exe), "reconstruct", "--model", str(weights), "--format", "npy", "--output", str(out),
                        str(png)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{exe} failed:\n{r.stdout}\n{r.stderr}"
    swift = np.load(out)
    with torch.inference_mode():
        ref = load_model(weights)(normalize_uint8_hwc(np.asarray(Image.open(png)))[None]).numpy()
    assert swift.shape == ref.shape == (1, 3, 150, 150) and swift.dtype == np.float32
    diff = float(np.abs(swift - ref).max())
    assert diff <= 1e-4, f"max abs difference {diff}"
