"""The exported model loads in the Swift engine and reconstructs like PyTorch (max abs <= 1e-4), and
``histoae calibrate`` builds the calibration block ``histoae_training calibrate`` builds.

Runs ``histoae reconstruct --model M --format npy --output O.npy patch.png`` and ``histoae calibrate`` with the
newest of .build/{debug,release}/histoae (scripts/test.sh builds it before pytest); skipped when neither exists."""

import json
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


def dihedral_patches(test_patches, folder):
    """The 8 rotations/flips of each test patch (56 files, blank glass included), as PNGs in ``folder``."""
    folder.mkdir()
    for source in sorted(test_patches.glob("*/*.png")):
        rgb = np.asarray(Image.open(source).convert("RGB"))
        for k in range(8):
            variant = np.rot90(rgb, k % 4)
            Image.fromarray(np.ascontiguousarray(variant[:, ::-1] if k >= 4 else variant)).save(
                folder / f"{source.stem}_{k}.png")
    return folder


def close(a, b, rel, abs_):
    """Both finite numbers with |a − b| ≤ abs_ + rel·max(|a|, |b|)."""
    return np.isfinite(a) and np.isfinite(b) and abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


def test_swift_calibrate_matches_python(tiny_run, tmp_path, test_patches):
    """``histoae calibrate`` and ``histoae_training calibrate`` build the same block from the same files and model.

    The forward passes differ by float rounding (≤ 1e-4, test above), so the error statistics are checked to 1e-4
    relative; the stain plane and the quality statistics (tissue fraction, sharpness, stain_p99) read only the
    8-bit pixels and agree to summation order (measured on this machine: error-statistic quantiles within 1e-7
    relative, method deviations within 2e-7, the quality statistics within 2e-13). The Swift card's version
    carries the digest Python computes."""
    from histoae_training import stats
    from histoae_training.calibrate import calibrate_model

    exe = find_histoae()
    if exe is None:
        pytest.skip("Swift CLI not built: neither .build/debug/histoae nor .build/release/histoae exists "
                    "(run `swift build` or scripts/test.sh)")
    patches = dihedral_patches(test_patches, tmp_path / "patches")
    source = "parity: 7 test patches x 8 rotations/flips"
    out = tmp_path / "swift-model"
    r = subprocess.run([str(exe), "calibrate", "--model", str(tiny_run["model"]), "--source", source,
                        "--output", str(out), str(patches)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0 and "Unknown subcommand" in r.stderr:
        pytest.skip(f"{exe} predates `histoae calibrate`: rebuild it")
    assert r.returncode == 0, f"{exe} failed:\n{r.stdout}\n{r.stderr}"
    swift_card = json.loads((out / "model.json").read_text())
    python_card = calibrate_model(tiny_run["model"], [patches], source=source, dry_run=True)
    swift, python = swift_card["calibration"], python_card["calibration"]

    assert swift["source"] == python["source"] == source and swift["patches"] == python["patches"] == 56
    assert swift["quantile_levels"] == python["quantile_levels"]
    assert swift["stain_plane"]["pixels"] == python["stain_plane"]["pixels"]
    assert swift["stain_plane"]["min_od"] == python["stain_plane"]["min_od"]
    assert np.allclose(swift["stain_plane"]["normal"], python["stain_plane"]["normal"], rtol=0, atol=1e-9)
    worst = {}
    for name in stats.STATISTIC_NAMES:
        a, b = swift["statistics"][name], python["statistics"][name]
        assert set(a) == set(b) and a.get("log_transform") == b.get("log_transform"), name
        quality = name in ("tissue_fraction", "sharpness", "stain_p99")
        rel, abs_ = (1e-9, 1e-12) if quality else (1e-4, 1e-7)
        for key in ("mean", "std", "log_mean", "log_std"):
            if key in b:
                assert close(a[key], b[key], rel, abs_), (name, key, a[key], b[key])
        for qa, qb in zip(a["quantiles"], b["quantiles"]):
            assert close(qa, qb, rel, abs_), (name, qa, qb)
        worst[name] = max(abs(qa - qb) / max(abs(qa), abs(qb), 1e-300) for qa, qb in zip(a["quantiles"], b["quantiles"]))
    for method in stats.METHOD_NAMES:
        a, b = swift["methods"][method], python["methods"][method]
        # Deviations are z-scores of logs: a relative error ε of a statistic moves them by ε/σ.
        for qa, qb in zip(a["quantiles"], b["quantiles"]):
            assert close(qa, qb, 1e-4, 1e-4), (method, qa, qb)
        assert a["tail"]["level"] == b["tail"]["level"] and a["tail"]["exceedances"] == b["tail"]["exceedances"]
        for key in ("start", "scale"):
            assert close(a["tail"][key], b["tail"][key], 1e-4, 1e-4), (method, key, a["tail"], b["tail"])
    assert worst["tissue_fraction"] <= 1e-9 and worst["stain_p99"] <= 1e-9, worst

    # The card: the new version carries Python's digest of the block Swift wrote; every other key is unchanged.
    assert swift_card["version"] == f"1.0.0+cal.{stats.calibration_digest(swift)[:8]}"
    original = json.loads((tiny_run["model"] / "model.json").read_text())
    assert {k: v for k, v in swift_card.items() if k not in ("version", "calibration")} == \
        {k: v for k, v in original.items() if k not in ("version", "calibration")}
    assert (out / "model.safetensors").read_bytes() == (tiny_run["model"] / "model.safetensors").read_bytes()
