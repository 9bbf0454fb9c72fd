"""Training configuration: a JSON (or TOML) file merged over :data:`DEFAULTS`, plus command-line overrides."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Iterable

#: Every key a config may set, with its default (the recipe of docs/model.md §3 and §14, and the reference figure).
DEFAULTS: dict[str, Any] = {
    "name": "histoae",
    "seed": 0,
    "device": "auto",          # auto | cpu | cuda | cuda:N | mps
    "precision": "auto",       # auto | fp32 | bf16 | fp16 (autocast; fp16 only on CUDA, with a GradScaler)
    "threads": None,           # torch.set_num_threads (CPU); None = torch's default
    "channels_last": True,     # NHWC memory format for training (about 2x faster bf16 on the AMX CPU here)
    "epochs": 60,
    "crops_per_epoch": 3000,
    "batch_size": 64,
    "lr": 1e-3,
    "weight_decay": 1e-5,
    "dropout": 0.1,
    "loss": {"alpha": 1.0, "beta": 1.0, "gamma": 1.0},
    "plateau": {"factor": 0.5, "patience": 3, "min_lr": 1e-6},
    "early_stopping": {"patience": 10, "min_delta": 0.0},
    "augment": {"flips": True, "rot90": True, "stain_sigma": 0.05, "stain_bias": 0.01},
    "tissue_filter": {"min_tissue_fraction": 0.5, "max_ink_fraction": 0.002},
    "validation": {"stride": 75, "max_crops_per_source": 400},
    "sources": [],
}


def merge(base: dict, over: dict, path: str = "") -> dict:
    """Deep-merge ``over`` into a copy of ``base``; unknown keys are an error (typos fail loudly)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k not in base:
            raise KeyError(f"unknown config key {path + k!r}")
        if isinstance(base[k], dict) and isinstance(v, dict):
            out[k] = merge(base[k], v, path + k + ".")
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_config(path: str | os.PathLike | None) -> dict:
    """A config file (``.json`` or ``.toml``) merged over the defaults; ``None`` gives the defaults."""
    if path is None:
        return copy.deepcopy(DEFAULTS)
    p = Path(path)
    if p.suffix.lower() == ".toml":
        import tomllib  # noqa: PLC0415
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    else:
        data = json.loads(p.read_text(encoding="utf-8"))
    return merge(DEFAULTS, data)


def apply_overrides(cfg: dict, items: Iterable[str]) -> dict:
    """``key.sub=value`` strings (value parsed as JSON when it parses, else a string) set into a copy."""
    out = copy.deepcopy(cfg)
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            if part not in node or not isinstance(node[part], dict):
                raise KeyError(f"unknown config key {key!r}")
            node = node[part]
        if parts[-1] not in node:
            raise KeyError(f"unknown config key {key!r}")
        node[parts[-1]] = value
    return out
