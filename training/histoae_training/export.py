"""Export a checkpoint as ``model.safetensors`` (the state-dict contract, optionally float16) plus ``model.json``,
the model card: identity, weights digest, input/normalization, training data and licences, loss, final
validation figures, where/how long it trained, and the calibration block (:mod:`histoae_training.stats`)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from . import stats
from .evaluate import per_patch_statistics
from .model import CNNAutoencoder3, count_parameters
from .safetensors_io import load_model, save_state_dict
from .train import build_dataset, load_checkpoint, now_iso, validation_crops

CARD_FORMAT = "histoae-model-card/1"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "model.json"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dumps_json(obj: Any, indent: int = 2, _level: int = 0) -> str:
    """JSON with ``indent`` spaces per level, except that lists of numbers/strings stay on one line."""
    pad = " " * (indent * (_level + 1))
    end = " " * (indent * _level)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {dumps_json(v, indent, _level + 1)}"
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return json.dumps(list(obj), ensure_ascii=False, allow_nan=False)
        return "[\n" + ",\n".join(pad + dumps_json(v, indent, _level + 1) for v in obj) + "\n" + end + "]"
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write :func:`dumps_json` text (UTF-8, trailing newline) to a temporary file in the same folder, fsync,
    then rename over ``path`` (readers see the old or the new file, never a partial one)."""
    path = Path(path)
    text = dumps_json(obj)
    json.loads(text)  # round-trip check before touching the target
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_SOURCE_KEYS = ("name", "kind", "path", "licence", "origin", "citation", "note", "mpp_note", "level", "mpp",
                "mpp_source", "read_size", "level_size", "files", "train_files", "val_files",
                "rejected_by_tissue_filter", "val_region", "val_fraction", "val_crops", "weight", "tissue_filter")


def _training_block(ck: dict, last: dict | None) -> dict:
    """Where/how long it trained: from last.pt when it sits next to the exported checkpoint."""
    src = last if last is not None else ck
    cfg = ck["config"]
    return {
        "device": src.get("device"),
        "precision": src.get("precision"),
        "torch": src.get("torch"),
        "seconds": round(float(src.get("train_seconds", 0.0)), 1),
        "epochs": src.get("epoch"),
        "best_epoch": ck.get("best_epoch"),
        "stopped": src.get("finished"),
        "started": src.get("started"),
        "ended": src.get("updated"),
        "command": src.get("command"),
        "resumed": src.get("resumed", []),
        "seed": cfg["seed"],
        "optimizer": {"name": "Adam", "lr": cfg["lr"], "weight_decay": cfg["weight_decay"]},
        "lr_schedule": {"name": "ReduceLROnPlateau", "monitor": "validation loss", **cfg["plateau"]},
        "early_stopping": cfg["early_stopping"],
        "batch_size": cfg["batch_size"],
        "crops_per_epoch": cfg["crops_per_epoch"],
        "dropout": cfg["dropout"],
        "augmentation": cfg["augment"],
    }


def describe_split(summary: dict) -> str:
    parts = []
    for s in summary["sources"]:
        if s.get("val_crops"):
            where = s.get("val_region") if s["kind"] == "slide" else f"held-out files ({s.get('val_fraction')})"
            parts.append(f"{s['name']}: {s['val_crops']} crops, {where}")
    return "held-out validation split, tissue-filtered 150x150 crops never overlapping training crops: " + \
        "; ".join(parts)


def export_model(checkpoint: str | os.PathLike, out_dir: str | os.PathLike, *, name: str, version: str,
                 float16: bool = False, data_root: str | os.PathLike | None = None, calibrate: bool = True,
                 description: str | None = None, batch_size: int = 32) -> dict:
    """Write ``out_dir/model.safetensors`` and ``out_dir/model.json``; returns the card.

    The validation figures and the calibration block are computed from the *exported* weights (after any
    float16 rounding) on the checkpoint's validation split, rebuilt from ``data_root`` (default: the one
    recorded in the checkpoint). With ``calibrate=False``, or fewer than ``stats.MIN_CALIBRATION_PATCHES``
    validation crops, the card carries ``"calibration": null`` (the first also the training-time figures)."""
    ck = load_checkpoint(checkpoint)
    last_path = Path(checkpoint).with_name("last.pt")
    last = load_checkpoint(last_path) if last_path.exists() and last_path.resolve() != Path(checkpoint).resolve() \
        else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS_FILE
    tmp = out / (WEIGHTS_FILE + ".tmp")
    model = CNNAutoencoder3()
    model.load_state_dict(ck["model"], strict=True)  # the contract, checked before writing
    save_state_dict(model.state_dict(), tmp, dtype="float16" if float16 else "float32",
                    metadata={"format": "pt"})
    os.replace(tmp, weights)
    digest = sha256_file(weights)
    cfg = ck["config"]
    summary = ck["data"]

    if calibrate:
        from .calibrate import VALIDATION_SOURCE, calibrate_from_crops  # noqa: PLC0415 (calibrate imports export)
        root = data_root if data_root is not None else ck["data_root"]
        ds = build_dataset(cfg, root)
        val = validation_crops(ds, cfg)
        exported = load_model(weights)
        split = describe_split(summary)
        if len(val) >= stats.MIN_CALIBRATION_PATCHES:
            calibration, values = calibrate_from_crops(exported, val, source=VALIDATION_SOURCE + split,
                                                       batch_size=batch_size)
        else:  # the card is still written (validation figures), but it cannot score until `calibrate`
            print(f"warning: {len(val)} validation crops, fewer than the {stats.MIN_CALIBRATION_PATCHES} "
                  "calibration needs: model.json gets \"calibration\": null (run `calibrate`)", file=sys.stderr)
            calibration = None
            values = per_patch_statistics(exported, val, batch_size=batch_size)
        validation = {"split": split, "patches": len(val),
                      "mse": float(np.mean(values["mse"])), "l1": float(np.mean(values["l1"])),
                      "ssim": float(np.mean(values["ssim"])),
                      "computed_with": f"the exported {'float16' if float16 else 'float32'} weights, "
                                       "histoae_training.stats (numpy float64), normalized [-1, 1] space"}
    else:
        bv = ck.get("best_val") or {}
        validation = {"split": describe_split(summary), "patches": summary.get("val_crops"),
                      "mse": bv.get("mse"), "l1": bv.get("l1"), "ssim": bv.get("ssim"),
                      "computed_with": "training-time evaluation of the float32 checkpoint (PyTorch)"}
        calibration = None

    card = {
        "format": CARD_FORMAT,
        "name": name,
        "version": version,
        "description": description or "CNNAutoencoder_3 trained on normal H&E tissue; reconstruction error "
                                      "flags patches unlike the training tissue.",
        "created": now_iso(),
        "architecture": {"name": "CNNAutoencoder_3", "spec": "docs/model.md",
                         "parameters": count_parameters(model)},
        "weights": {"file": WEIGHTS_FILE, "sha256": digest, "dtype": "float16" if float16 else "float32",
                    "bytes": weights.stat().st_size},
        "input": {"width": 150, "height": 150, "channels": 3, "color": "RGB", "layout": "NCHW",
                  "mpp": _nominal_mpp(summary)},
        "normalization": {"formula": "y = (x/255 - 0.5)/0.5", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                          "range": [-1.0, 1.0]},
        "output": {"activation": "tanh", "range": [-1.0, 1.0]},
        "training_data": {
            "sources": [{k: s[k] for k in _SOURCE_KEYS if k in s} for s in summary["sources"]],
            "crops_per_epoch": cfg["crops_per_epoch"],
            "train_crops_seen": int(cfg["crops_per_epoch"]) * int((last or ck).get("epoch") or 0),
            "validation_crops": summary.get("val_crops"),
            "tissue_filter": cfg["tissue_filter"],
        },
        "loss": {"formula": "alpha*MSE + beta*L1 + gamma*(1 - SSIM), plus weight decay lambda (Adam, coupled L2)",
                 **cfg["loss"], "weight_decay": cfg["weight_decay"],
                 "ssim": {"window": 11, "sigma": stats.SSIM_SIGMA, "k1": stats.SSIM_K1, "k2": stats.SSIM_K2,
                          "data_range": stats.DATA_RANGE}},
        "validation": validation,
        "training": _training_block(ck, last),
        "calibration": calibration,
    }
    write_json_atomic(out / CARD_FILE, card)
    return card


def _nominal_mpp(summary: dict) -> float | None:
    """The µm/px of the slide sources read at a known scale (the first one), for the card's input block."""
    for s in summary["sources"]:
        if s.get("kind") == "slide" and s.get("mpp"):
            return s["mpp"]
    return None
