"""Differentiable SSIM in PyTorch (docs/model.md §15): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, L = 2.

The loss uses the *valid* part of the SSIM map (pixels whose 11x11 window lies inside the image), whose mean
is exactly skimage's mean SSIM (skimage computes the full map with a reflect border, then crops 5 px per
side). Always computed in float32 (or float64 if given), also under autocast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .stats import DATA_RANGE, SSIM_K1, SSIM_K2, SSIM_RADIUS, SSIM_SIGMA


def gaussian_taps(sigma: float = SSIM_SIGMA, radius: int = SSIM_RADIUS, *, dtype=torch.float32,
                  device=None) -> torch.Tensor:
    """Normalized 1-D Gaussian taps at offsets -radius..radius."""
    i = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-(i * i) / (2 * sigma * sigma))
    return (w / w.sum()).to(dtype=dtype, device=device)


def _blur_valid(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Depthwise separable 'valid' correlation of (N, C, H, W) with the 1-D taps."""
    c = x.shape[1]
    k = taps.numel()
    x = F.conv2d(x, taps.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    return F.conv2d(x, taps.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)


def ssim_map_valid(x: torch.Tensor, y: torch.Tensor, *, data_range: float = DATA_RANGE, k1: float = SSIM_K1,
                   k2: float = SSIM_K2, sigma: float = SSIM_SIGMA, radius: int = SSIM_RADIUS) -> torch.Tensor:
    """SSIM map (N, C, H - 2r, W - 2r) with population (co)variances."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"expected two (N, C, H, W) tensors of one shape, got {tuple(x.shape)}, {tuple(y.shape)}")
    dtype = torch.float64 if (x.dtype == torch.float64 or y.dtype == torch.float64) else torch.float32
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = x.to(dtype)
        y = y.to(dtype)
        taps = gaussian_taps(sigma, radius, dtype=dtype, device=x.device)
        n = x.shape[0]
        # one blur for all five moments
        stacked = torch.cat([x, y, x * x, y * y, x * y], dim=0)
        m = _blur_valid(stacked, taps)
        mx, my, exx, eyy, exy = m[:n], m[n:2 * n], m[2 * n:3 * n], m[3 * n:4 * n], m[4 * n:]
        c1 = (k1 * data_range) ** 2
        c2 = (k2 * data_range) ** 2
        vx = exx - mx * mx
        vy = eyy - my * my
        vxy = exy - mx * my
        return ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))


def ssim_per_image(x: torch.Tensor, y: torch.Tensor, **kw) -> torch.Tensor:
    """Mean SSIM of each image (N,) over channels and the valid map (= skimage's mean SSIM)."""
    return ssim_map_valid(x, y, **kw).mean(dim=(1, 2, 3))


def ssim(x: torch.Tensor, y: torch.Tensor, **kw) -> torch.Tensor:
    """Mean SSIM over the batch (a scalar)."""
    return ssim_per_image(x, y, **kw).mean()
