"""The other-site patch sets of the cross-site evaluation, from the crop list ``other_sites.json``.

The crop list names, per site, which 150 x 150 crops of which image count as normal tissue (and which as
tumour, an unranked positive set), with provenance and the reason. This module turns it into patches and
splits a site's normals into two disjoint halves for site calibration (calibrate on one, score the other).

Usage (from the repository root)::

    import site_sets
    spec = site_sets.load_site_list()                               # training/scripts/other_sites.json
    normals = site_sets.build_site_normals(spec, Path("../shared/data"), seed=0)
    halves = site_sets.split_halves(normals, seed=0)                # ["A", "B", ...], one per patch
    assert not site_sets.overlaps_across_halves(normals, halves)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

import evaluate_scores as es

SITE_LIST = Path(__file__).resolve().parent / "other_sites.json"
NORMAL = "site_normal"
TUMOUR = "tumour"


def load_site_list(path: Path = SITE_LIST) -> dict:
    """The crop list, checked for the keys this module reads (a clear error instead of a KeyError later)."""
    spec = json.loads(Path(path).read_text())
    for key in ("folder", "crop", "sites", "adipose", "tumour"):
        if key not in spec:
            raise ValueError(f"{path}: no {key!r}")
    for site in spec["sites"]:
        for key in ("site", "title", "licence", "source", "why_normal", "split_unit", "normal"):
            if key not in site:
                raise ValueError(f"{path}: site {site.get('site')!r} has no {key!r}")
        if site["split_unit"] not in ("file", "crop"):
            raise ValueError(f"{path}: site {site['site']!r}: split_unit must be 'file' or 'crop'")
    return spec


def load_image(path: Path, scale: float | None = None) -> np.ndarray:
    """uint8 (H, W, 3) RGB of ``path``, resized by ``scale`` with Lanczos when given (as the ``ihc`` set)."""
    rgb = es.load_rgb(path)
    if scale is None or scale == 1:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))


def crop_positions(entry: dict, width: int, height: int, crop: int) -> list[tuple[int, int]]:
    """Top-left (x, y) of every crop an entry names: ``offsets`` (pixels), ``cells`` ((column, row) of a
    ``cell``-px grid) or ``grid`` (every ``grid`` px from (0, 0) that fits). A named crop outside the image
    is an error, not silently skipped: the list was made by looking at these images."""
    if "offsets" in entry:
        xy = [(int(x), int(y)) for x, y in entry["offsets"]]
    elif "cells" in entry:
        cell = int(entry.get("cell", crop))
        xy = [(int(c) * cell, int(r) * cell) for c, r in entry["cells"]]
    elif "grid" in entry:
        step = int(entry["grid"])
        if step <= 0:
            raise ValueError(f"{entry['file']}: grid must be positive")
        return [(x, y) for y in range(0, height - crop + 1, step) for x in range(0, width - crop + 1, step)]
    else:
        raise ValueError(f"{entry['file']}: no offsets, cells or grid")
    for x, y in xy:
        if x < 0 or y < 0 or x + crop > width or y + crop > height:
            raise ValueError(f"{entry['file']}: crop at ({x}, {y}) outside the {width}x{height} image")
    return xy


def entry_patches(entry: dict, data_root: Path, crop: int, kind: str, site: str,
                  rng: np.random.Generator) -> list:
    """The patches of one crop-list entry: positions, the tissue-fraction filter, then ``pick`` at random."""
    path = data_root / entry["file"]
    img = load_image(path, entry.get("scale"))
    h, w = img.shape[:2]
    suffix = "" if entry.get("scale") in (None, 1) else f"(x{entry['scale']})"
    out = []
    for x, y in crop_positions(entry, w, h, crop):
        rgb = np.ascontiguousarray(img[y:y + crop, x:x + crop])
        tf = es.stats.tissue_fraction(rgb)
        if tf < float(entry.get("min_tissue_fraction", 0.0)):
            continue
        info = {"site": site, "tissue": entry.get("tissue", ""), "file": entry["file"], "x": x, "y": y,
                "scale": entry.get("scale", 1), "tissue_fraction": tf}
        out.append(es.Patch("", kind, Path(entry["file"]).name, f"{x},{y}{suffix}", rgb, info))
    return es.pick(out, entry.get("pick"), rng)


def build_site_normals(spec: dict, data_root: Path, seed: int) -> list:
    """Every site's normal crops, in list order; ``info["group"]`` is the unit that stays in one half."""
    root = Path(data_root) / spec["folder"]
    out = []
    for i, site in enumerate(spec["sites"]):
        for j, entry in enumerate(site["normal"]):
            rng = np.random.default_rng([seed, 1000 + 100 * i + j])
            for p in entry_patches(entry, root, spec["crop"], NORMAL, site["site"], rng):
                p.info["group"] = entry["file"] if site["split_unit"] == "file" else f"{entry['file']}@{p.where}"
                out.append(p)
    return out


def build_tumour(spec: dict, data_root: Path, seed: int) -> list:
    root = Path(data_root) / spec["folder"]
    out = []
    for j, entry in enumerate(spec["tumour"]):
        out += entry_patches(entry, root, spec["crop"], TUMOUR, entry["site"], np.random.default_rng([seed, 3000 + j]))
    return out


def is_adipose(spec: dict, patch) -> bool:
    return patch.info.get("site") == spec["adipose"]["site"] and patch.info.get("tissue") == spec["adipose"]["tissue"]


def split_halves(patches: list, seed: int) -> list[str]:
    """"A" or "B" per patch: per site, the groups (``info["group"]``) in a seeded random order, each to the
    half with fewer of the site's patches so far (ties: fewer patches overall, then A) — so every group stays
    whole and each site is split as evenly as its groups allow."""
    sites = list(dict.fromkeys(p.info["site"] for p in patches))
    total = {"A": 0, "B": 0}
    half_of_group: dict[tuple[str, str], str] = {}
    for i, site in enumerate(sites):
        groups: dict[str, int] = {}
        for p in patches:
            if p.info["site"] == site:
                groups[p.info["group"]] = groups.get(p.info["group"], 0) + 1
        names = list(groups)
        order = np.random.default_rng([seed, 2000 + i]).permutation(len(names))
        here = {"A": 0, "B": 0}
        for k in order:
            g = names[k]
            half = min(("A", "B"), key=lambda h: (here[h], total[h], h))
            half_of_group[(site, g)] = half
            here[half] += groups[g]
            total[half] += groups[g]
    return [half_of_group[(p.info["site"], p.info["group"])] for p in patches]


def overlaps_across_halves(patches: list, halves: list[str]) -> list[tuple[str, str]]:
    """(where, where) of every pair of crops of the same image, in different halves, that share a pixel."""
    bad = []
    for i, (p, hp) in enumerate(zip(patches, halves)):
        for q, hq in zip(patches[i + 1:], halves[i + 1:]):
            if hp == hq or p.info["file"] != q.info["file"] or p.info.get("scale") != q.info.get("scale"):
                continue
            n = p.rgb.shape[0]
            if abs(p.info["x"] - q.info["x"]) < n and abs(p.info["y"] - q.info["y"]) < n:
                bad.append((f"{p.source}@{p.where}", f"{q.source}@{q.where}"))
    return bad


def derived(normals: list, kind: str, transform) -> list:
    """A synthetic artefact set made from the other-site normals (restain, blur), keeping each crop's site."""
    return [es.Patch("", kind, p.source, p.where, transform(p.rgb), {"site": p.info["site"]}) for p in normals]
