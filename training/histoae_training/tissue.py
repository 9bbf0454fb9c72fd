"""Tissue filter for training/validation crops: skip background glass, near-empty crops and marking ink.

* tissue: :func:`histoae_training.stats.tissue_fraction` (HSV saturation > 0.07 and value < 0.92) must be
  at least ``min_tissue_fraction``;
* ink: the fraction of *ink-hued* pixels — hue in [60°, 200°) (green to cyan, a hue H&E never takes),
  saturation >= 0.15, value >= 0.10 — must not exceed ``max_ink_fraction``. Blue pen cannot be told from
  hematoxylin by hue alone (lymphocyte nuclei reach hue 230°), so only green/cyan ink is rejected; red pen
  is likewise indistinguishable from eosin by colour.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .stats import tissue_fraction

INK_HUE_RANGE = (60.0, 200.0)
INK_MIN_SATURATION = 0.15
INK_MIN_VALUE = 0.10


def hue_saturation_value(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HSV of a uint8 (H, W, 3) image: hue in degrees [0, 360), saturation and value in [0, 1]."""
    a = np.asarray(rgb, dtype=np.float32) / 255.0
    mx = a.max(axis=2)
    mn = a.min(axis=2)
    d = mx - mn
    sat = np.divide(d, mx, out=np.zeros_like(mx), where=mx > 0)
    dd = np.where(d > 0, d, 1.0)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    h = np.where(mx == r, np.mod((g - b) / dd, 6.0), np.where(mx == g, (b - r) / dd + 2.0, (r - g) / dd + 4.0))
    h = np.where(d > 0, h * 60.0, 0.0)
    return h, sat, mx


def ink_mask(rgb: np.ndarray) -> np.ndarray:
    """Boolean (H, W) of green/cyan marking-ink pixels."""
    h, s, v = hue_saturation_value(rgb)
    return (h >= INK_HUE_RANGE[0]) & (h < INK_HUE_RANGE[1]) & (s >= INK_MIN_SATURATION) & (v >= INK_MIN_VALUE)


def ink_fraction(rgb: np.ndarray) -> float:
    """Fraction of :func:`ink_mask` pixels."""
    return float(ink_mask(rgb).mean())


@dataclass(frozen=True)
class TissueFilter:
    """Accept a crop when it has enough tissue and (almost) no marking ink."""

    min_tissue_fraction: float = 0.5
    max_ink_fraction: float = 0.002

    def accepts(self, rgb: np.ndarray) -> bool:
        if tissue_fraction(rgb) < self.min_tissue_fraction:
            return False
        return self.max_ink_fraction >= 1.0 or ink_fraction(rgb) <= self.max_ink_fraction

    def to_dict(self) -> dict:
        return asdict(self)
