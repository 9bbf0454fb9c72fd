"""safetensors I/O for CNNAutoencoder3 state dicts."""

from __future__ import annotations

import os
from typing import Mapping

import torch
from safetensors.torch import load_file, save_file

from .model import CNNAutoencoder3


def save_state_dict(state: Mapping[str, torch.Tensor], path: str | os.PathLike, *, dtype: str = "float32",
                    metadata: Mapping[str, str] | None = None) -> None:
    """Save a state dict. ``dtype`` in {"float32", "float16"} applies to floating tensors only;
    integer tensors (BatchNorm ``num_batches_tracked``) are kept as int64.

    Note: safetensors (Rust) serializes ``metadata`` through a HashMap, so with more than one metadata
    entry the bytes of the file are not reproducible from run to run; the tensors themselves are."""
    target = {"float32": torch.float32, "float16": torch.float16, "f32": torch.float32, "f16": torch.float16}[dtype]
    out = {}
    for k, v in state.items():
        v = v.detach().cpu()
        if v.is_floating_point():
            v = v.to(target)
        elif v.dtype != torch.int64:
            v = v.to(torch.int64)
        out[k] = v.contiguous()
    save_file(out, str(path), metadata=dict(metadata) if metadata else None)


def load_state_dict(path: str | os.PathLike, *, widen: bool = True) -> dict[str, torch.Tensor]:
    """Load a safetensors state dict; with ``widen`` floating tensors become float32 (exact for f16)."""
    sd = load_file(str(path))
    if widen:
        sd = {k: (v.to(torch.float32) if v.is_floating_point() else v) for k, v in sd.items()}
    return sd


def load_model(path: str | os.PathLike, *, eval_mode: bool = True) -> CNNAutoencoder3:
    """Build a CNNAutoencoder3 from a safetensors file (strict), float32, eval mode by default."""
    model = CNNAutoencoder3()
    model.load_state_dict(load_state_dict(path, widen=True), strict=True)
    model = model.to(torch.float32)
    if eval_mode:
        model.eval()
    return model
