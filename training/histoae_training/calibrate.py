"""Recalibrate an exported model on a site's normal tissue: recompute ONLY the ``calibration`` block of
``model.json`` and bump its ``version``; the weights file is never touched (its sha256 is checked).

Calibration takes two passes over the normal patches (scoring v2): the stain plane is fitted on every
patch's pixels first, then each patch's statistics are computed with it (``stain_p99`` needs the plane)::

    card = calibrate_model("models/site", ["normals/"], source="site X normal colon, 120 patches")
    card = calibrate_model("models/default", [], validation_of=("training/configs/default.json", "../shared/data"),
                           bump="minor")   # the training data's held-out validation split, as export does
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Sequence

import torch

from . import stats
from .config import load_config
from .data import Crop
from .evaluate import PatchSelection, gather_patches, load_for_eval, per_patch_statistics
from .export import CARD_FILE, describe_split, sha256_file, write_json_atomic
from .train import build_dataset, data_summary, validation_crops

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
#: The start of the ``source`` of a block made on the training data's validation split (export does the same).
VALIDATION_SOURCE = "validation split of the training data (normal tissue): "


def bump_version(version: str, block: dict, mode: str = "cal") -> str:
    """``cal``: ``X.Y.Z[+...]`` -> ``X.Y.Z+cal.<first 8 hex of sha256 of the canonical calibration JSON>``;
    ``minor``: ``X.Y.Z[+...]`` -> ``X.(Y+1).0``."""
    m = _SEMVER.match(version)
    if not m:
        raise ValueError(f"version {version!r} is not semantic (X.Y.Z)")
    major, minor, patch = (int(g) for g in m.groups())
    if mode == "cal":
        return f"{major}.{minor}.{patch}+cal.{stats.calibration_digest(block)[:8]}"
    if mode == "minor":
        return f"{major}.{minor + 1}.0"
    raise ValueError(f"bump mode must be 'cal' or 'minor', got {mode!r}")


def check_patch_count(n: int) -> None:
    """Raises ValueError below :data:`stats.MIN_CALIBRATION_PATCHES` (before any forward pass)."""
    if n < stats.MIN_CALIBRATION_PATCHES:
        raise ValueError(f"only {n} patch(es) to calibrate on: calibration needs at least "
                         f"{stats.MIN_CALIBRATION_PATCHES} normal patches")


def calibrate_from_crops(model: torch.nn.Module, crops: Sequence[Crop], *, source: str,
                         batch_size: int = 32) -> tuple[dict, dict[str, list[float]]]:
    """``(block, per-patch values)``: pass 1 fits the stain plane on all crops' pixels, pass 2 computes every
    crop's 8 statistics with it; the block is :func:`stats.calibration_block` of those."""
    check_patch_count(len(crops))
    plane = stats.fit_stain_plane([c.image for c in crops])
    values = per_patch_statistics(model, crops, batch_size=batch_size, stain_normal=plane["normal"])
    return stats.calibration_block(values, source, plane), values


def validation_split(config: str | os.PathLike, data_root: str | os.PathLike) -> tuple[list[Crop], str]:
    """The held-out validation crops of a training config (the patches ``export`` calibrates on) and the
    ``source`` text export writes for them."""
    cfg = load_config(str(config))
    ds = build_dataset(cfg, data_root)
    val = validation_crops(ds, cfg)
    return val, VALIDATION_SOURCE + describe_split(data_summary(ds, val))


def calibrate_model(model_dir: str | os.PathLike, inputs: Sequence[str | os.PathLike], *, source: str | None = None,
                    sel: PatchSelection = PatchSelection(), bump: str = "cal", batch_size: int = 32,
                    dry_run: bool = False, validation_of: tuple[str | os.PathLike, str | os.PathLike] | None = None
                    ) -> dict:
    """Recompute the calibration block of ``model_dir/model.json``, bump the version, and rewrite model.json
    atomically (all other keys unchanged). Returns the new card.

    The patches: every tile of the patch folders/files in ``inputs`` (no tissue filter: a curated patch
    counts), the tissue-filtered crops of slide inputs (``sel``), and, with ``validation_of=(config,
    data_root)``, the validation split of that training config (``source`` then defaults to export's text).
    """
    d = Path(model_dir)
    card_path = d / CARD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8"))
    weights = d / card["weights"]["file"]
    digest = sha256_file(weights)
    if digest != card["weights"]["sha256"]:
        raise ValueError(f"{weights}: sha256 {digest} does not match model.json ({card['weights']['sha256']})")
    crops = gather_patches(inputs, dataclasses.replace(sel, filter_patch_files=False)) if inputs else []
    if validation_of is not None:
        val, val_source = validation_split(*validation_of)
        crops += val
        source = source or val_source
    if not source:
        raise ValueError("calibrate needs a source: a description of the normal patches")
    check_patch_count(len(crops))
    model, _ = load_for_eval(d)
    block, _ = calibrate_from_crops(model, crops, source=source, batch_size=batch_size)
    new = dict(card)  # keeps key order
    new["version"] = bump_version(card["version"], block, bump)
    new["calibration"] = block
    if not dry_run:
        write_json_atomic(card_path, new)
    return new
