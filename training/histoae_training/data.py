"""Training data: patch folders and whole-slide images, tissue-filtered crops, a spatially separate validation split.

A *source* is described by a dict (one entry of the config's ``sources``):

``{"name": str, "kind": "slide" | "patches", "path": str (relative to the data root), "weight": float,``
`` "level": int | null, "mpp": float | null, "assume_mpp": float | null,        # slides``
`` "val_region": {"side": "bottom", "fraction": 0.2},                          # slides``
`` "val_fraction": float, "mpp": float (descriptive, for the card)              # patches (whole files)``
`` "min_tissue_fraction": float, "max_ink_fraction": float,                     # overrides``
`` "licence": str, "origin": str, "note": str}``

Each epoch draws ``crops_per_epoch`` fresh random crops, choosing the source of each crop with probability
proportional to its ``weight``. Validation crops are fixed: a regular grid over each slide's validation
region (never overlapping any training crop) plus the non-overlapping tiles of held-out patch files.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image

from .augment import AugmentConfig, augment
from .slides import Region, Slide
from .tissue import TissueFilter

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
CROP = 150


def to_tensor(batch: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W), ``y = (x/255 - 0.5)/0.5`` (same order of operations as
    :func:`histoae_training.preprocess.normalize_uint8_hwc`, so bit-identical)."""
    if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[3] != 3:
        raise ValueError(f"expected uint8 (N, H, W, 3), got {batch.dtype} {batch.shape}")
    x = torch.from_numpy(np.ascontiguousarray(batch)).to(torch.float32)
    return ((x / 255.0 - 0.5) / 0.5).permute(0, 3, 1, 2).contiguous()


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image file as uint8 (H, W, 3) RGB (alpha composited onto white)."""
    with Image.open(path) as im:
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im)
        return np.asarray(im.convert("RGB"))


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder`` (recursive), sorted by relative path."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def grid_positions(length: int, crop: int, stride: int) -> list[int]:
    """Start offsets of crops along an axis: every ``stride`` from 0 (one crop when length == crop)."""
    return list(range(0, length - crop + 1, stride)) if length >= crop else []


def _hash_unit(s: str) -> float:
    return int(hashlib.sha1(s.encode("utf-8")).hexdigest()[:8], 16) / 2 ** 32


@dataclass
class Crop:
    """One crop and where it came from."""

    image: np.ndarray
    source: str
    where: str


class PatchSource:
    """A folder of patch images. Files are split into train/validation by a hash of their relative path
    (``val_fraction``); patches larger than the crop give random crops (train) or grid tiles (validation)."""

    kind = "patches"

    def __init__(self, name: str, path: str | os.PathLike, *, crop: int = CROP, weight: float = 1.0,
                 val_fraction: float = 0.0, filt: TissueFilter = TissueFilter(), meta: dict | None = None):
        self.name, self.path, self.crop, self.weight, self.filt = name, Path(path), crop, float(weight), filt
        self.meta = dict(meta or {})
        self.val_fraction = float(val_fraction)
        files = list_images(self.path)
        if not files:
            raise ValueError(f"{self.path}: no images ({', '.join(IMAGE_EXTENSIONS)})")
        self.files = files
        self._images: dict[Path, np.ndarray] = {}
        self._cached = 0
        self.too_small: list[str] = []
        self.rejected: list[str] = []
        self.split: dict[str, list[Path]] = {"train": [], "val": []}
        for f in files:
            rel = f.relative_to(self.path).as_posix()
            img = self.image(f)
            if min(img.shape[:2]) < crop:
                self.too_small.append(rel)
                continue
            which = "val" if _hash_unit(rel) < self.val_fraction else "train"
            if img.shape[0] == crop and img.shape[1] == crop and not filt.accepts(img):
                self.rejected.append(rel)
                continue
            self.split[which].append(f)

    #: Decoded images are kept in memory up to this many bytes in all; beyond it they are re-read from disk.
    cache_bytes = 512 * 1024 * 1024

    def image(self, f: Path) -> np.ndarray:
        img = self._images.get(f)
        if img is None:
            img = load_rgb(f)
            if self._cached + img.nbytes <= self.cache_bytes:
                self._images[f] = img
                self._cached += img.nbytes
        return img

    def sample(self, rng: np.random.Generator, attempts: int = 50) -> Crop | None:
        """A random tissue-filtered training crop."""
        files = self.split["train"]
        if not files:
            return None
        for _ in range(attempts):
            f = files[rng.integers(len(files))]
            img = self.image(f)
            h, w = img.shape[:2]
            y = int(rng.integers(h - self.crop + 1))
            x = int(rng.integers(w - self.crop + 1))
            c = img[y:y + self.crop, x:x + self.crop]
            if (h == w == self.crop) or self.filt.accepts(c):
                return Crop(np.ascontiguousarray(c), self.name, f"{f.relative_to(self.path).as_posix()}@{x},{y}")
        return None

    def grid(self, split: str, stride: int | None = None, filt: TissueFilter | None = None) -> list[Crop]:
        """Tiles of the split's files on a grid (default stride = crop: non-overlapping)."""
        stride = stride or self.crop
        files = self.split["train"] + self.split["val"] if split == "all" else self.split[split]
        out = []
        for f in files:
            img = self.image(f)
            for y in grid_positions(img.shape[0], self.crop, stride):
                for x in grid_positions(img.shape[1], self.crop, stride):
                    c = np.ascontiguousarray(img[y:y + self.crop, x:x + self.crop])
                    if filt is None or filt.accepts(c):
                        out.append(Crop(c, self.name, f"{f.relative_to(self.path).as_posix()}@{x},{y}"))
        return out

    def describe(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "files": len(self.files),
            "train_files": len(self.split["train"]), "val_files": len(self.split["val"]),
            "rejected_by_tissue_filter": self.rejected, "too_small": self.too_small,
            "val_fraction": self.val_fraction, "tissue_filter": self.filt.to_dict(), **self.meta,
        }


class SlideSource:
    """A whole-slide image; the validation area is one side of the slide (``Region``)."""

    kind = "slide"

    def __init__(self, name: str, path: str | os.PathLike, *, crop: int = CROP, weight: float = 1.0,
                 level: int | None = None, mpp: float | None = None, assume_mpp: float | None = None,
                 region: Region = Region(), filt: TissueFilter = TissueFilter(), meta: dict | None = None):
        self.name, self.path, self.crop, self.weight, self.filt = name, Path(path), crop, float(weight), filt
        self.meta = dict(meta or {})
        self.region = region
        self.slide = Slide(path, crop=crop, level=level, mpp=mpp, assume_mpp=assume_mpp)
        self._area = self.slide.area("train", region)
        self._cands = self.slide.candidates("train", region)

    def sample(self, rng: np.random.Generator, attempts: int = 50) -> Crop | None:
        if self._area is None:
            return None
        got = self.slide.random_crop(rng, self._cands, self._area, self.filt, attempts)
        if got is None:
            return None
        img, (x, y) = got
        return Crop(img, self.name, f"level{self.slide.level}@{x},{y}")

    def grid(self, split: str, stride: int | None = None, filt: TissueFilter | None = None) -> list[Crop]:
        stride = stride or self.crop
        return [Crop(img, self.name, f"level{self.slide.level}@{x},{y}")
                for img, (x, y) in self.slide.grid_crops(split, self.region, stride, filt)]

    def describe(self) -> dict:
        return {"name": self.name, "kind": self.kind, "val_region": self.region.describe(),
                "train_tissue_candidates": int(len(self._cands)), "tissue_filter": self.filt.to_dict(),
                **self.slide.describe(), **self.meta}


Source = PatchSource | SlideSource

META_KEYS = ("licence", "origin", "citation", "note", "mpp_note")


def build_source(spec: dict, data_root: str | os.PathLike, *, crop: int = CROP,
                 default_filter: TissueFilter = TissueFilter()) -> Source:
    """A source from its config dict (see the module docstring); ``path`` is relative to ``data_root``."""
    kind = spec.get("kind", "slide")
    path = Path(data_root) / spec["path"]
    name = spec.get("name") or Path(spec["path"]).stem
    filt = TissueFilter(
        min_tissue_fraction=spec.get("min_tissue_fraction", default_filter.min_tissue_fraction),
        max_ink_fraction=spec.get("max_ink_fraction", default_filter.max_ink_fraction))
    meta = {k: spec[k] for k in META_KEYS if k in spec}
    meta["path"] = spec["path"]
    if kind == "patches":
        if spec.get("mpp") is not None:  # descriptive only: patches are used as they are, never rescaled
            meta["mpp"] = spec["mpp"]
        return PatchSource(name, path, crop=crop, weight=spec.get("weight", 1.0),
                           val_fraction=spec.get("val_fraction", 0.0), filt=filt, meta=meta)
    if kind == "slide":
        vr = spec.get("val_region", {"side": "bottom", "fraction": 0.2})
        return SlideSource(name, path, crop=crop, weight=spec.get("weight", 1.0), level=spec.get("level"),
                           mpp=spec.get("mpp"), assume_mpp=spec.get("assume_mpp"), region=Region(**vr),
                           filt=filt, meta=meta)
    raise ValueError(f"source kind must be 'slide' or 'patches', got {kind!r}")


@dataclass
class CropDataset:
    """Weighted random training crops (fresh each epoch) and a fixed validation set."""

    sources: Sequence[Source]
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self):
        self.sources = [s for s in self.sources]
        w = np.array([s.weight for s in self.sources], dtype=np.float64)
        if len(w) == 0 or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("need at least one source with a positive weight")
        self.p = w / w.sum()

    def epoch_batches(self, seed: int, epoch: int, n: int, batch_size: int) -> Iterator[tuple[np.ndarray, list[str]]]:
        """``ceil(n / batch_size)`` batches of augmented uint8 crops (B, H, W, 3) for one epoch; the crops
        depend only on (seed, epoch), so a resumed run sees the same data."""
        rng = np.random.default_rng([int(seed), int(epoch)])
        done = 0
        while done < n:
            b = min(batch_size, n - done)
            imgs, names = [], []
            while len(imgs) < b:
                k = int(rng.choice(len(self.sources), p=self.p))
                c = self.sources[k].sample(rng)
                if c is None:
                    raise RuntimeError(f"source {self.sources[k].name}: no crop passed the tissue filter")
                imgs.append(augment(c.image, rng, self.augment))
                names.append(f"{c.source}:{c.where}")
            done += b
            yield np.stack(imgs), names

    def validation(self, stride: int, max_per_source: int | None = None, seed: int = 0) -> list[Crop]:
        """The fixed validation crops of every source (tissue-filtered, no augmentation). Sources with more
        than ``max_per_source`` crops are subsampled evenly (deterministically)."""
        out: list[Crop] = []
        for s in self.sources:
            crops = s.grid("val", stride if s.kind == "slide" else None, s.filt)
            if max_per_source and len(crops) > max_per_source:
                idx = np.linspace(0, len(crops) - 1, max_per_source).round().astype(int)
                crops = [crops[i] for i in idx]
            out.extend(crops)
        return out
