"""Whole-slide images through OpenSlide: crops at a chosen level or µm/px, spatial train/validation regions.

Coordinates are in pixels of the chosen *level*. A crop covers ``read_size`` level pixels per side and is
resized to ``crop`` pixels when the level's µm/px differs from the requested one by more than the tolerance.
Small levels (up to ``cache_max_pixels``) are read once into memory; larger ones are read crop by crop.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .stats import tissue_mask
from .tissue import TissueFilter

SLIDE_EXTENSIONS = (".svs", ".tif", ".tiff", ".ndpi", ".vms", ".vmu", ".scn", ".mrxs", ".svslide", ".bif", ".dcm")
SIDES = ("bottom", "top", "left", "right")


def _openslide():
    try:
        import openslide  # noqa: PLC0415
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise RuntimeError("whole-slide images need OpenSlide: pip install openslide-python openslide-bin") from e
    return openslide


def is_slide(path: str | os.PathLike) -> bool:
    """True when ``path`` is a file OpenSlide recognises as a (multi-resolution) slide."""
    p = str(path)
    if not os.path.isfile(p) or not p.lower().endswith(SLIDE_EXTENSIONS):
        return False
    try:
        return _openslide().OpenSlide.detect_format(p) is not None
    except Exception:  # noqa: BLE001
        return False


@dataclass(frozen=True)
class Region:
    """Which part of a slide is validation: ``side`` in bottom/top/left/right and its ``fraction``;
    ``fraction`` 0 = no validation region, 1 = the whole slide is validation."""

    side: str = "bottom"
    fraction: float = 0.2

    def __post_init__(self):
        if self.side not in SIDES:
            raise ValueError(f"val region side must be one of {SIDES}, got {self.side!r}")
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"val region fraction must be in [0, 1], got {self.fraction}")

    def describe(self) -> str:
        if self.fraction == 0:
            return "none"
        if self.fraction == 1:
            return "whole slide"
        return f"{self.side} {self.fraction:.0%}"


def split_area(size: tuple[int, int], read_size: int, split: str, region: Region
               ) -> tuple[int, int, int, int] | None:
    """Allowed top-left range ``(x0, y0, x1, y1)`` (inclusive) for crops of ``read_size`` lying fully inside
    the ``split`` ("train", "val" or "all") part of a ``size = (w, h)`` level; None when it has no room.

    The validation part is the ``region.fraction`` of the slide on ``region.side`` (cut at
    ``round(n * (1 - f))`` for bottom/right, ``round(n * f)`` for top/left); training is the rest. A crop
    must lie entirely on its side of the cut, so training and validation crops never share a pixel."""
    w, h = size
    r = read_size
    f = region.fraction
    if split not in ("train", "val", "all"):
        raise ValueError(f"split must be train, val or all, got {split!r}")
    if split == "all":
        box = (0, 0, w, h)
    elif f == 0:
        box = (0, 0, w, h) if split == "train" else None
    elif f == 1:
        box = (0, 0, w, h) if split == "val" else None
    else:
        vertical = region.side in ("bottom", "top")
        n = h if vertical else w
        cut = int(round(n * (1 - f))) if region.side in ("bottom", "right") else int(round(n * f))
        low_is_val = region.side in ("top", "left")
        low, high = (0, cut), (cut, n)
        part = (low if low_is_val else high) if split == "val" else (high if low_is_val else low)
        box = (0, part[0], w, part[1]) if vertical else (part[0], 0, part[1], h)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    if x1 - x0 < r or y1 - y0 < r:
        return None
    return x0, y0, x1 - r, y1 - r


class Slide:
    """One slide opened at a level, with tissue-filtered crop sampling in a train or validation area."""

    def __init__(self, path: str | os.PathLike, *, crop: int = 150, level: int | None = None,
                 mpp: float | None = None, assume_mpp: float | None = None, mpp_tolerance: float = 0.05,
                 cache_max_pixels: int = 64_000_000, mask_step: int = 8):
        osl = _openslide()
        self.path = str(path)
        self.osr = osl.OpenSlide(self.path)
        self.crop = crop
        props = self.osr.properties
        mpp_x = props.get("openslide.mpp-x")
        self.mpp0: float | None = float(mpp_x) if mpp_x else None
        self.mpp_source = "file" if self.mpp0 else None
        if self.mpp0 is None and assume_mpp is not None:
            self.mpp0, self.mpp_source = float(assume_mpp), "assumed"
        if level is not None and mpp is not None:
            raise ValueError("give a level or a µm/px, not both")
        if mpp is not None:
            if self.mpp0 is None:
                raise ValueError(f"{self.path}: no µm/px in the file; give a level (or assume_mpp)")
            level = self._best_level(mpp, mpp_tolerance)
        self.level = 0 if level is None else int(level)
        if not 0 <= self.level < self.osr.level_count:
            raise ValueError(f"{self.path}: level {self.level} out of range 0..{self.osr.level_count - 1}")
        self.downsample = float(self.osr.level_downsamples[self.level])
        self.size = tuple(int(v) for v in self.osr.level_dimensions[self.level])  # (w, h)
        self.level_mpp = None if self.mpp0 is None else self.mpp0 * self.downsample
        if mpp is not None and abs(mpp / self.level_mpp - 1.0) > mpp_tolerance:
            self.read_size = int(round(crop * mpp / self.level_mpp))
            self.mpp = float(mpp)
        else:
            self.read_size = crop
            self.mpp = self.level_mpp
        w, h = self.size
        if self.read_size > min(w, h):
            raise ValueError(f"{self.path}: level {self.level} ({w}x{h}) smaller than one crop ({self.read_size})")
        self._cache = self._read_level() if w * h <= cache_max_pixels else None
        self.mask_step = mask_step
        self._mask = self._tissue_mask()

    # ------------------------------------------------------------------ reading
    def _best_level(self, mpp: float, tol: float) -> int:
        best = 0
        for k, ds in enumerate(self.osr.level_downsamples):
            if self.mpp0 * ds <= mpp * (1 + tol):
                best = k
        return best

    def _region_rgb(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        """Read level pixels (x, y, w, h) as uint8 RGB, transparent pixels composited onto white."""
        loc = (int(round(x * self.downsample)), int(round(y * self.downsample)))
        rgba = self.osr.read_region(loc, self.level, (w, h))
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))

    def _read_level(self) -> np.ndarray:
        return self._region_rgb(0, 0, *self.size)

    def read_crop(self, x: int, y: int) -> np.ndarray:
        """The crop whose top-left level pixel is (x, y), as uint8 (crop, crop, 3)."""
        r = self.read_size
        if self._cache is not None:
            a = self._cache[y:y + r, x:x + r]
        else:
            a = self._region_rgb(x, y, r, r)
        if r != self.crop:
            a = np.asarray(Image.fromarray(np.ascontiguousarray(a)).resize((self.crop, self.crop), Image.BILINEAR))
        return np.ascontiguousarray(a)

    def _tissue_mask(self) -> np.ndarray:
        s = self.mask_step
        if self._cache is not None:
            small = np.ascontiguousarray(self._cache[s // 2::s, s // 2::s])
        else:
            w, h = self.size
            small = np.asarray(self.osr.get_thumbnail((max(1, w // s), max(1, h // s))).convert("RGB"))
        return tissue_mask(small)

    # ------------------------------------------------------------------ areas
    def area(self, split: str, region: Region) -> tuple[int, int, int, int] | None:
        """See :func:`split_area` (at this slide's level size and read size)."""
        return split_area(self.size, self.read_size, split, region)

    # ------------------------------------------------------------------ sampling
    def candidates(self, split: str, region: Region) -> np.ndarray:
        """Top-left positions (K, 2) [x, y] of crops centred on tissue-mask cells inside the split area."""
        a = self.area(split, region)
        if a is None:
            return np.zeros((0, 2), dtype=np.int64)
        x0, y0, x1, y1 = a
        mh, mw = self._mask.shape
        sy = self.size[1] / mh
        sx = self.size[0] / mw
        ys, xs = np.nonzero(self._mask)
        cx = ((xs + 0.5) * sx).astype(np.int64) - self.read_size // 2
        cy = ((ys + 0.5) * sy).astype(np.int64) - self.read_size // 2
        keep = (cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1)
        return np.stack([cx[keep], cy[keep]], axis=1)

    def random_crop(self, rng: np.random.Generator, cands: np.ndarray, area: tuple[int, int, int, int],
                    filt: TissueFilter, attempts: int = 50) -> tuple[np.ndarray, tuple[int, int]] | None:
        """A random accepted crop near a tissue candidate (jittered by up to a mask cell), or None."""
        if len(cands) == 0:
            return None
        x0, y0, x1, y1 = area
        j = max(1, int(math.ceil(self.size[0] / self._mask.shape[1])))  # one mask cell in level px
        for _ in range(attempts):
            cx, cy = cands[rng.integers(len(cands))]
            x = int(np.clip(cx + rng.integers(-j, j + 1), x0, x1))
            y = int(np.clip(cy + rng.integers(-j, j + 1), y0, y1))
            img = self.read_crop(x, y)
            if filt.accepts(img):
                return img, (x, y)
        return None

    def grid_crops(self, split: str, region: Region, stride: int, filt: TissueFilter | None
                   ) -> list[tuple[np.ndarray, tuple[int, int]]]:
        """Accepted crops on a regular grid (step ``stride`` level px) over the split's area, row by row."""
        a = self.area(split, region)
        if a is None:
            return []
        x0, y0, x1, y1 = a
        out = []
        for y in range(y0, y1 + 1, stride):
            for x in range(x0, x1 + 1, stride):
                if not self._likely_tissue(x, y):
                    continue
                img = self.read_crop(x, y)
                if filt is None or filt.accepts(img):
                    out.append((img, (x, y)))
        return out

    def _likely_tissue(self, x: int, y: int) -> bool:
        """Cheap pre-check on the low-resolution mask: any tissue cell under the crop."""
        mh, mw = self._mask.shape
        sy = self.size[1] / mh
        sx = self.size[0] / mw
        r = self.read_size
        m = self._mask[int(y / sy):int(math.ceil((y + r) / sy)), int(x / sx):int(math.ceil((x + r) / sx))]
        return bool(m.any())

    def describe(self) -> dict:
        """Facts for the model card."""
        return {
            "level": self.level,
            "level_size": list(self.size),
            "downsample": self.downsample,
            "mpp_level0": self.mpp0,
            "mpp_source": self.mpp_source,
            "mpp": self.mpp,
            "read_size": self.read_size,
            "vendor": self.osr.properties.get("openslide.vendor"),
        }

    def close(self) -> None:
        self.osr.close()
