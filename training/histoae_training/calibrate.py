"""Recalibrate an exported model on a site's normal tissue: recompute ONLY the ``calibration`` block of
``model.json`` and bump its ``version``; the weights file is never touched (its sha256 is checked)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Sequence

from . import stats
from .evaluate import PatchSelection, gather_patches, load_for_eval, per_patch_statistics
from .export import CARD_FILE, sha256_file, write_json_atomic

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


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


def calibrate_model(model_dir: str | os.PathLike, inputs: Sequence[str | os.PathLike], *, source: str,
                    sel: PatchSelection = PatchSelection(), bump: str = "cal", batch_size: int = 32,
                    dry_run: bool = False) -> dict:
    """Recompute the calibration block of ``model_dir/model.json`` on the inputs' accepted patches, bump the
    version, and rewrite model.json atomically (all other keys unchanged). Returns the new card."""
    d = Path(model_dir)
    card_path = d / CARD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8"))
    weights = d / card["weights"]["file"]
    digest = sha256_file(weights)
    if digest != card["weights"]["sha256"]:
        raise ValueError(f"{weights}: sha256 {digest} does not match model.json ({card['weights']['sha256']})")
    model, _ = load_for_eval(d)
    crops = gather_patches(inputs, sel)
    if len(crops) < 2:
        raise ValueError(f"only {len(crops)} patch(es) passed the tissue filter: not enough to calibrate")
    values = per_patch_statistics(model, crops, batch_size=batch_size)
    block = stats.calibration_block(values, source)
    new = dict(card)  # keeps key order
    new["version"] = bump_version(card["version"], block, bump)
    new["calibration"] = block
    if not dry_run:
        write_json_atomic(card_path, new)
    return new
