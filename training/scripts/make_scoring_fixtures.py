#!/usr/bin/env python3
"""Golden fixtures for the Swift scoring module (Tests/ScoringTests/Fixtures), deterministic and small (< 1 MB).

Every reference value comes from the numpy reference ``histoae_training.stats`` (float64) and, for the mean
SSIM, from ``skimage.metrics.structural_similarity`` as an independent check.

Writes into Tests/ScoringTests/Fixtures/
  patch0.png, patch1.png        copies of the real H&E patches of Tests/AutoencoderModelTests/Fixtures
  recon_blur0.png               patch0 blurred (Gaussian sigma 2 per channel, 8-bit): a "too easy" reconstruction
  recon_noise1.png              patch1 plus seeded noise (8-bit)
  quality.png                   a synthetic 16x12 RGB image hitting the tissue-test edge cases (black, white,
                                saturation and value near their thresholds)
  maps.safetensors              F32 (x, x_hat, se, ae, ssim) of small cases: crops of patch0 and a (3, 17, 23)
                                random pair, whose sides are shorter than the smoothing window (multi-reflection)
  statistics.json               per case: every stats.py statistic, skimage's mean SSIM, and the quality signals
  stain.json, stain.safetensors the stain statistic: optical-density table, stain-plane fits of a few patches
                                (scatter matrix, eigenvalues, normal), residual maps (F32) and stain_p99
  calibration.json              stats.calibration_block (scoring v2) of seeded random values, the per-patch
                                values it was built from, percentile queries (np.interp)
  scores.json                   stats.score_patch of designed and real cases with calibration.json's block,
                                every method x thresholds 0.5/0.9/0.99/0.999; exceedance/threshold queries
  viridis.json                  matplotlib's viridis as 256 8-bit RGB triples (the Swift table must equal it)
  model.json                    a model card for parity_weights_f16.safetensors (random weights) whose
                                calibration block is measured with that model on 72 Kather 2016 patches

Usage (from the repository root):
  python training/scripts/make_scoring_fixtures.py [--data-root DIR]
  python training/scripts/make_scoring_fixtures.py --viridis-swift Sources/Scoring/ViridisTable.swift

--data-root defaults to ../shared/data next to the repository (the repository's data, kept outside it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))  # training/

from histoae_training import stats  # noqa: E402
from score_fixtures import write_scores  # noqa: E402  (training/scripts/score_fixtures.py)

SEED = 20250704
OUT = Path("Tests/ScoringTests/Fixtures")
MODEL_FIXTURES = Path("Tests/AutoencoderModelTests/Fixtures")
WEIGHTS = MODEL_FIXTURES / "parity_weights_f16.safetensors"
CALIBRATION_CLASSES = ("01_TUMOR", "02_STROMA", "03_COMPLEX", "04_LYMPHO", "05_DEBRIS", "06_MUCOSA")
#: Ruifrok & Johnston's haematoxylin and eosin OD vectors: the "textbook" plane of stain.json.
TEXTBOOK_H = np.array([0.650, 0.704, 0.286])
TEXTBOOK_E = np.array([0.072, 0.990, 0.105])
#: (image, normal) pairs whose residual map goes into stain.safetensors.
STAIN_MAPS = {("patch0.png", "fitted"), ("quality.png", "fitted"), ("quality.png", "textbook")}


def normalize(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (3, H, W), y = (x/255 - 0.5)/0.5 in float32 (bit-equal to the Swift code)."""
    x = rgb.astype(np.float32)
    y = (x / np.float32(255.0) - np.float32(0.5)) / np.float32(0.5)
    return np.ascontiguousarray(y.transpose(2, 0, 1))


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)


def save_png(path: Path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb, "RGB").save(path, optimize=True)


def skimage_ssim(x: np.ndarray, y: np.ndarray) -> float:
    from skimage.metrics import structural_similarity
    return float(structural_similarity(x.astype(np.float64), y.astype(np.float64), channel_axis=0,
                                       gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=2.0))


def case_record(name: str, x: np.ndarray, x_hat: np.ndarray, rgb: np.ndarray | None, **source) -> dict:
    s = stats.patch_statistics(x, x_hat, rgb)
    sk = skimage_ssim(x, x_hat)
    assert abs(sk - s["ssim"]) < 1e-9, (name, sk, s["ssim"])
    return {"name": name, **source, "shape": list(x.shape), "statistics": s, "skimage_ssim": sk}


def blur_rgb(rgb: np.ndarray, sigma: float) -> np.ndarray:
    out = np.stack([ndimage.gaussian_filter(rgb[..., c].astype(np.float64), sigma, mode="reflect")
                    for c in range(3)], axis=2)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def quality_image() -> np.ndarray:
    """16x12 RGB with black (max == 0), white, pale glass, saturation just around 0.07 and value around 0.92."""
    rng = np.random.default_rng(SEED + 1)
    img = rng.integers(60, 230, size=(12, 16, 3), dtype=np.uint8)
    img[0, :4] = 0                       # black: counts as tissue
    img[1, :4] = 255                     # white glass
    img[2, :4] = (235, 233, 236)         # pale glass, value > 0.92
    img[3, 0] = (200, 186, 190)          # saturation 0.07 exactly -> not tissue (strict >)
    img[3, 1] = (200, 185, 190)          # saturation 0.075 -> tissue
    img[3, 2] = (234, 200, 210)          # value 234/255 = 0.9176 < 0.92 -> tissue
    img[3, 3] = (235, 200, 210)          # value 0.9216 -> not tissue
    return img


def write_maps_and_small_cases(rng: np.random.Generator, patch0: np.ndarray) -> list[dict]:
    from safetensors.numpy import save_file
    tensors: dict[str, np.ndarray] = {}
    records = []
    crop = patch0[30:70, 50:106]                                   # 40 x 56
    x = normalize(crop)
    cases = {
        "crop_noise": np.clip(x + rng.normal(0, 0.1, x.shape), -1, 1).astype(np.float32),
        "crop_blur": np.stack([ndimage.gaussian_filter(x[c].astype(np.float64), 1.5, mode="reflect")
                               for c in range(3)]).astype(np.float32),
        "crop_constant": np.broadcast_to(x.mean(axis=(1, 2), keepdims=True), x.shape).astype(np.float32),
    }
    pairs = {k: (x, v) for k, v in cases.items()}
    xr = rng.uniform(-1, 1, (3, 17, 23)).astype(np.float32)
    pairs["odd_random"] = (xr, np.clip(0.7 * xr + rng.normal(0, 0.2, xr.shape), -1, 1).astype(np.float32))
    for name, (a, b) in pairs.items():
        tensors[f"{name}.x"] = np.ascontiguousarray(a, dtype=np.float32)
        tensors[f"{name}.x_hat"] = np.ascontiguousarray(b, dtype=np.float32)
        tensors[f"{name}.se"] = stats.se_map(a, b).astype(np.float32)
        tensors[f"{name}.ae"] = stats.ae_map(a, b).astype(np.float32)
        tensors[f"{name}.ssim"] = stats.ssim_map(a, b).astype(np.float32)
        records.append(case_record(name, a, b, None, tensors=name))
    save_file(tensors, str(OUT / "maps.safetensors"))
    return records


def write_full_cases(rng: np.random.Generator, patch0: np.ndarray, patch1: np.ndarray) -> list[dict]:
    blur0 = blur_rgb(patch0, 2.0)
    noise1 = np.clip(patch1.astype(np.int32) + rng.integers(-12, 13, patch1.shape), 0, 255).astype(np.uint8)
    save_png(OUT / "recon_blur0.png", blur0)
    save_png(OUT / "recon_noise1.png", noise1)
    x0, x1 = normalize(patch0), normalize(patch1)
    const = [0.25, -0.5, 0.125]                                    # exactly representable in float32
    xc = np.broadcast_to(np.asarray(const, np.float32)[:, None, None], x1.shape).astype(np.float32)
    return [
        case_record("patch0_blur", x0, normalize(blur0), patch0, input="patch0.png", reconstruction="recon_blur0.png"),
        case_record("patch1_noise", x1, normalize(noise1), patch1, input="patch1.png",
                    reconstruction="recon_noise1.png"),
        case_record("patch1_constant", x1, xc, patch1, input="patch1.png", reconstruction_constant=const),
        # The blurred image as an *input*: its sharpness is the blur signal.
        case_record("blur0_identity", normalize(blur0), normalize(blur0), blur0, input="recon_blur0.png",
                    reconstruction="recon_blur0.png"),
    ]


def write_stain(patch0: np.ndarray, patch1: np.ndarray) -> tuple[list[float], dict]:
    """stain.json + stain.safetensors; returns the fitted normal of patch0 + patch1 and its plane block."""
    from safetensors.numpy import save_file
    images = {n: load_rgb(OUT / n) for n in ("patch0.png", "patch1.png", "recon_blur0.png", "recon_noise1.png",
                                             "quality.png")}
    assert np.array_equal(images["patch0.png"], patch0) and np.array_equal(images["patch1.png"], patch1)
    fits = []
    for names in (["patch0.png", "patch1.png"], ["patch1.png"], ["recon_blur0.png", "recon_noise1.png"]):
        rgbs = [images[n] for n in names]
        m, n = stats.stain_scatter(rgbs)
        plane = stats.fit_stain_plane(rgbs)
        fits.append({"images": names, "scatter": m.tolist(), "pixels": n,
                     "eigenvalues": np.linalg.eigh(m)[0].tolist(), "normal": plane["normal"]})
    too_few = {"images": ["quality.png"], "pixels": stats.stain_scatter([images["quality.png"]])[1]}
    assert too_few["pixels"] < stats.STAIN_MIN_PIXELS
    fitted = fits[0]["normal"]
    textbook = np.cross(TEXTBOOK_H, TEXTBOOK_E)
    textbook /= np.linalg.norm(textbook)
    textbook = (textbook if textbook[np.argmax(np.abs(textbook))] > 0 else -textbook).tolist()
    normals = {"fitted": fitted, "textbook": textbook}
    cases, tensors = [], {}
    for image in images:
        for which, normal in normals.items():
            case = {"image": image, "normal": which, "stain_p99": stats.stain_p99(images[image], normal)}
            if (image, which) in STAIN_MAPS:
                case["map"] = f"{image.removesuffix('.png')}.{which}"
                tensors[case["map"]] = stats.stain_residual_map(images[image], normal).astype(np.float32)
            cases.append(case)
    save_file(tensors, str(OUT / "stain.safetensors"))
    doc = {"od_table": stats.optical_density(np.arange(256, dtype=np.uint8).reshape(1, 256, 1).repeat(3, 2))
           [0, :, 0].tolist(), "min_od": stats.STAIN_MIN_OD, "min_pixels": stats.STAIN_MIN_PIXELS,
           "fits": fits, "too_few": too_few, "normals": normals, "cases": cases}
    (OUT / "stain.json").write_text(json.dumps(doc, indent=1) + "\n")
    return fitted, {"normal": fitted, "pixels": fits[0]["pixels"], "min_od": stats.STAIN_MIN_OD}


def write_calibration(rng: np.random.Generator, plane: dict) -> dict:
    n = 500
    values = {
        "mse": np.exp(rng.normal(np.log(0.003), 0.4, n)),
        "l1": np.exp(rng.normal(np.log(0.04), 0.3, n)),
        "ssim": 1 - np.exp(rng.normal(np.log(0.05), 0.35, n)),
        "mse_p99": np.exp(rng.normal(np.log(0.02), 0.5, n)),
        "dssim_p99": np.exp(rng.normal(np.log(0.08), 0.4, n)),
        "tissue_fraction": np.clip(rng.beta(20, 1.5, n), 0.3, 1.0),
        "sharpness": np.exp(rng.normal(np.log(0.004), 0.5, n)),
    }
    # its own generator, so the seven older statistics (and their queries) keep their values
    values["stain_p99"] = np.exp(np.random.default_rng(SEED + 2).normal(np.log(0.03), 0.35, n))
    per_patch = {k: v.tolist() for k, v in values.items()}
    block = stats.calibration_block(per_patch, "seeded random values (fixture)", plane)
    queries = {}
    for k in stats.STATISTIC_NAMES:
        q = np.asarray(block["statistics"][k]["quantiles"])
        pts = np.concatenate([[q[0] - 1.0, q[0], q[-1], q[-1] + 1.0], rng.uniform(q[0], q[-1], 6),
                              np.quantile(values[k], [0.25, 0.5, 0.9])])
        strictly = bool(np.all(np.diff(q) > 0))
        queries[k] = {"values": pts.tolist(),
                      "percentiles": np.interp(pts, q, block["quantile_levels"]).tolist() if strictly else None}
    (OUT / "calibration.json").write_text(json.dumps({"calibration": block, "queries": queries,
                                                      "digest": stats.calibration_digest(block),
                                                      "per_patch": per_patch}, indent=1) + "\n")
    return block


def write_model_card(data_root: Path) -> None:
    import torch
    from histoae_training.safetensors_io import load_model
    model = load_model(WEIGHTS)
    labels = (data_root / "tiles/kather2016/labels.csv").read_text().splitlines()[1:]
    imgs = []
    for line in labels:
        path, cls = line.rsplit(",", 1)
        if cls in CALIBRATION_CLASSES:
            rgb = load_rgb(data_root / "tiles/kather2016" / path)
            imgs += [np.ascontiguousarray(np.rot90(rgb, k)) for k in range(4)]
    x = np.stack([normalize(i) for i in imgs])
    with torch.no_grad():
        rec = torch.cat([model(torch.from_numpy(x[i:i + 8])) for i in range(0, len(x), 8)]).numpy()
    plane = stats.fit_stain_plane(imgs)  # two passes, as calibrate does: the plane first, then the statistics
    values: dict[str, list[float]] = {k: [] for k in stats.STATISTIC_NAMES}
    for j, rgb in enumerate(imgs):
        s = stats.patch_statistics(x[j], rec[j], rgb, plane["normal"])
        for k in stats.STATISTIC_NAMES:
            values[k].append(s[k])
    card = {
        "format": "histoae-model-card/1",
        "name": "parity-random",
        "version": "0.0.0-test",
        "description": "Test fixture: the seeded RANDOM weights of parity_weights_f16.safetensors with a "
                       "calibration block measured on 72 Kather 2016 patches. Not a usable detector.",
        "weights": {"file": "model.safetensors", "sha256": hashlib.sha256(WEIGHTS.read_bytes()).hexdigest(),
                    "dtype": "float16",
                    "bytes": WEIGHTS.stat().st_size},
        "calibration": stats.calibration_block(values, "Kather 2016 classes 01-06, 3 tiles each x 4 rotations "
                                                       "(fixture; random weights)", plane),
    }
    (OUT / "model.json").write_text(json.dumps(card, indent=2) + "\n")


def viridis_bytes() -> np.ndarray:
    from matplotlib import colormaps
    lut = colormaps["viridis"](np.linspace(0, 1, 256))[:, :3]
    assert colormaps["viridis"].N == 256
    return np.clip(np.rint(lut * 255), 0, 255).astype(np.uint8)


def write_viridis_swift(path: Path) -> None:
    rows = viridis_bytes()
    lines = ["/// matplotlib's `viridis` (256 entries, 8-bit sRGB, `round(255 * v)`), generated by",
             "/// `python training/scripts/make_scoring_fixtures.py --viridis-swift Sources/Scoring/ViridisTable.swift`.",
             "/// Viridis: Stéfan van der Walt and Nathaniel Smith, CC0 (public domain).",
             "let viridisTable: [UInt8] = ["]
    for i in range(0, 256, 4):
        lines.append("    " + " ".join(f"{r}, {g}, {b}," for r, g, b in rows[i:i + 4]))
    lines.append("]")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=HERE.parents[3] / "shared/data")
    ap.add_argument("--viridis-swift", type=Path, help="write the Swift viridis table to this path and stop")
    args = ap.parse_args()
    if args.viridis_swift:
        write_viridis_swift(args.viridis_swift)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    patch0, patch1 = load_rgb(MODEL_FIXTURES / "patch0.png"), load_rgb(MODEL_FIXTURES / "patch1.png")
    for n in ("patch0.png", "patch1.png"):
        (OUT / n).write_bytes((MODEL_FIXTURES / n).read_bytes())
    cases = write_maps_and_small_cases(rng, patch0) + write_full_cases(rng, patch0, patch1)
    q = quality_image()
    save_png(OUT / "quality.png", q)
    quality = [{"image": "quality.png", "tissue_fraction": stats.tissue_fraction(q), "sharpness": stats.sharpness(q)}]
    blurred = load_rgb(OUT / "recon_blur0.png")
    for n, img in (("patch0.png", patch0), ("patch1.png", patch1), ("recon_blur0.png", blurred)):
        quality.append({"image": n, "tissue_fraction": stats.tissue_fraction(img), "sharpness": stats.sharpness(img)})
    (OUT / "statistics.json").write_text(json.dumps({"cases": cases, "quality": quality}, indent=1) + "\n")
    normal, plane = write_stain(patch0, patch1)
    block = write_calibration(rng, plane)
    write_scores(block, cases, normal)
    (OUT / "viridis.json").write_text(json.dumps(viridis_bytes().tolist()) + "\n")
    write_model_card(args.data_root)
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"wrote {OUT} ({total / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
