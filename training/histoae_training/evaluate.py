"""Figures of a model on patches: folders of patch images, single images or whole slides.

Folders and images give their non-overlapping 150x150 tiles; slides give a grid of crops (``stride``) over
``region`` (``all``, or the ``train``/``val`` part of a bottom-20 % split). Crops are tissue-filtered unless
``tissue_filter`` is None; with ``filter_patch_files=False`` (calibration: every curated patch counts) only
slide crops are. Per-patch statistics are those of :mod:`histoae_training.stats`.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import stats
from .data import CROP, Crop, PatchSource, SlideSource, grid_positions, load_rgb, to_tensor
from .model import CNNAutoencoder3
from .safetensors_io import load_model
from .slides import Region, is_slide
from .tissue import TissueFilter
from .train import reconstruct


@dataclass(frozen=True)
class PatchSelection:
    """How patches are taken from the inputs."""

    region: str = "all"            # slides: all | train | val
    val_side: str = "bottom"
    val_fraction: float = 0.2
    stride: int = CROP             # slides: grid step in level pixels
    level: int | None = None       # slides
    mpp: float | None = None       # slides
    max_patches: int | None = None  # per input, evenly subsampled
    tissue_filter: TissueFilter | None = TissueFilter()
    filter_patch_files: bool = True  # False: folders and image files keep every tile (slides stay filtered)


def _subsample(crops: list[Crop], n: int | None) -> list[Crop]:
    if n and len(crops) > n:
        idx = np.linspace(0, len(crops) - 1, n).round().astype(int)
        return [crops[i] for i in idx]
    return crops


def gather_patches(inputs: Sequence[str | os.PathLike], sel: PatchSelection = PatchSelection()) -> list[Crop]:
    """All accepted crops of the inputs, in input order."""
    out: list[Crop] = []
    file_filter = sel.tissue_filter if sel.filter_patch_files else None
    for inp in inputs:
        p = Path(inp)
        if p.is_dir():
            src = PatchSource(p.name, p, val_fraction=0.0, filt=file_filter or TissueFilter(0.0, 1.0))
            crops = src.grid("train", None, file_filter)
            if src.too_small:
                print(f"warning: {p}: {len(src.too_small)} image(s) smaller than {CROP}x{CROP} skipped",
                      file=sys.stderr)
        elif is_slide(p):
            region = Region(sel.val_side, sel.val_fraction)
            src = SlideSource(p.stem, p, level=sel.level, mpp=sel.mpp, region=region,
                              filt=sel.tissue_filter or TissueFilter(0.0, 1.0))
            crops = src.grid(sel.region, sel.stride, sel.tissue_filter)
            src.slide.close()
        elif p.is_file():
            img = load_rgb(p)
            crops = []
            for y in grid_positions(img.shape[0], CROP, CROP):
                for x in grid_positions(img.shape[1], CROP, CROP):
                    c = np.ascontiguousarray(img[y:y + CROP, x:x + CROP])
                    if file_filter is None or file_filter.accepts(c):
                        crops.append(Crop(c, p.name, f"@{x},{y}"))
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
        out.extend(_subsample(crops, sel.max_patches))
    return out


def per_patch_statistics(model: torch.nn.Module, crops: Sequence[Crop], *, batch_size: int = 32,
                         stain_normal: Sequence[float] | None = None) -> dict[str, list[float]]:
    """{statistic: [value per crop]} for every name in :data:`stats.STATISTIC_NAMES` (``stain_p99`` only
    with a ``stain_normal``)."""
    names = [k for k in stats.STATISTIC_NAMES if stain_normal is not None or k != "stain_p99"]
    values: dict[str, list[float]] = {k: [] for k in names}
    for i in range(0, len(crops), 256):
        chunk = crops[i:i + 256]
        imgs = np.stack([c.image for c in chunk])
        rec = reconstruct(model, imgs, batch_size=batch_size)
        x = to_tensor(imgs).numpy()
        for j, c in enumerate(chunk):
            s = stats.patch_statistics(x[j], rec[j], c.image, stain_normal)
            for k in names:
                values[k].append(s[k])
    return values


def summary_figures(values: dict[str, list[float]]) -> dict:
    """Mean, std, and the 1/5/50/95/99th percentiles of each statistic."""
    out = {}
    for k, v in values.items():
        a = np.asarray(v, dtype=np.float64)
        if a.size == 0:
            continue
        q = np.percentile(a, [1, 5, 50, 95, 99])
        out[k] = {"mean": float(a.mean()), "std": float(a.std()), "p01": float(q[0]), "p05": float(q[1]),
                  "median": float(q[2]), "p95": float(q[3]), "p99": float(q[4])}
    return out


def load_for_eval(model_path: str | os.PathLike) -> tuple[CNNAutoencoder3, dict | None]:
    """A model from a model folder (model.safetensors + model.json) or a .safetensors file."""
    p = Path(model_path)
    card = None
    if p.is_dir():
        card_path = p / "model.json"
        if card_path.exists():
            card = json.loads(card_path.read_text(encoding="utf-8"))
        weights = p / (card["weights"]["file"] if card else "model.safetensors")
    else:
        weights = p
    return load_model(weights), card


def evaluate(model_path: str | os.PathLike, inputs: Sequence[str | os.PathLike],
             sel: PatchSelection = PatchSelection(), *, batch_size: int = 32) -> tuple[dict, dict[str, list[float]], list[Crop]]:
    """(summary, per-patch values, crops) of a model on the inputs."""
    model, card = load_for_eval(model_path)
    crops = gather_patches(inputs, sel)
    if not crops:
        raise ValueError("no patches passed the tissue filter")
    plane = ((card or {}).get("calibration") or {}).get("stain_plane")  # v2 cards: stain_p99 too
    values = per_patch_statistics(model, crops, batch_size=batch_size,
                                  stain_normal=plane["normal"] if plane else None)
    per_source: dict[str, int] = {}
    for c in crops:
        per_source[c.source] = per_source.get(c.source, 0) + 1
    summary = {"model": str(model_path), "model_version": card.get("version") if card else None,
               "patches": len(crops), "per_input": per_source, "statistics": summary_figures(values)}
    return summary, values, crops
