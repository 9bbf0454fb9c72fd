"""Input normalization (docs/model.md §3): y = (x/255 - 0.5)/0.5, uint8 HWC RGB -> float32 CHW in [-1, 1]."""

from __future__ import annotations

import numpy as np
import torch


def normalize_uint8_hwc(img) -> torch.Tensor:
    """uint8 (H, W, 3) RGB array (or PIL image) -> float32 tensor (3, H, W), y = (x/255 - 0.5)/0.5.

    Computed in float32 in exactly that order so other implementations can reproduce it bit-for-bit.
    """
    a = np.asarray(img)
    if a.dtype != np.uint8:
        raise TypeError(f"expected uint8 image, got {a.dtype}")
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) RGB, got {a.shape}")
    x = torch.from_numpy(np.array(a, dtype=np.uint8, copy=True)).to(torch.float32)
    y = (x / 255.0 - 0.5) / 0.5
    return y.permute(2, 0, 1).contiguous()


def denormalize_to_uint8_hwc(y: torch.Tensor) -> np.ndarray:
    """float (3, H, W) in [-1, 1] -> uint8 (H, W, 3), rounding to nearest."""
    x = ((y.detach().to(torch.float32).clamp(-1, 1) * 0.5 + 0.5) * 255.0).round()
    return x.permute(1, 2, 0).to(torch.uint8).cpu().numpy()
