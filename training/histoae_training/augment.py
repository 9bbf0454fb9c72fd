"""Augmentation fit for H&E, on uint8 (H, W, 3) crops: the 8 dihedral transforms (flips, 90° rotations)
and a mild stain jitter in HED (haematoxylin–eosin–DAB) optical-density space (Tellez et al. 2018):

    od = -ln((u + 1)/256)                 (u = 8-bit RGB)
    s  = od @ inv(M)                      (M: Ruifrok & Johnston stain vectors, rows H, E, DAB)
    s' = s * a + b,   a_k ~ U(1 - sigma, 1 + sigma),  b_k ~ U(-bias, bias)   per stain k
    u' = round(256 exp(-(s' @ M)) - 1), clipped to 0..255

With a = 1, b = 0 the round trip returns the input exactly. The result is uint8 again, like real inputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: Ruifrok & Johnston stain vectors (rows: haematoxylin, eosin, DAB), as in skimage.color.
RGB_FROM_HED = np.array([[0.65, 0.70, 0.29],
                         [0.07, 0.99, 0.11],
                         [0.27, 0.57, 0.78]], dtype=np.float64)
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED)


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations to apply; ``stain_sigma``/``stain_bias`` = 0 disables the stain jitter."""

    flips: bool = True
    rot90: bool = True
    stain_sigma: float = 0.05
    stain_bias: float = 0.01

    def to_dict(self) -> dict:
        return asdict(self)


def dihedral(img: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Rotate by k*90° (counter-clockwise) and then optionally flip left-right (HWC array)."""
    out = np.rot90(img, k, axes=(0, 1))
    if flip:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def stain_jitter(img: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Scale/shift the three HED stain concentrations of a uint8 RGB image (see module docstring)."""
    od = -np.log((img.astype(np.float64) + 1.0) / 256.0)
    s = od.reshape(-1, 3) @ HED_FROM_RGB
    s = s * np.asarray(alpha, dtype=np.float64) + np.asarray(beta, dtype=np.float64)
    rgb = 256.0 * np.exp(-(s @ RGB_FROM_HED)) - 1.0
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8).reshape(img.shape)


def augment(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """One random augmentation of a uint8 (H, W, 3) crop (square crops for rot90)."""
    k = int(rng.integers(4)) if cfg.rot90 else 0
    flip = bool(rng.integers(2)) if cfg.flips else False
    out = dihedral(img, k, flip)
    if cfg.stain_sigma > 0 or cfg.stain_bias > 0:
        alpha = rng.uniform(1 - cfg.stain_sigma, 1 + cfg.stain_sigma, size=3)
        beta = rng.uniform(-cfg.stain_bias, cfg.stain_bias, size=3)
        out = stain_jitter(out, alpha, beta)
    return out
