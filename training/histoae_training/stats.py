"""Per-patch statistics and the calibration block (the reference the Swift scoring module mirrors).

Everything here is plain numpy, computed in float64, one function per statistic. Inputs:

* ``x``, ``x_hat``: the input patch and its reconstruction, ``(3, H, W)`` (normally ``(3, 150, 150)``)
  float arrays in the normalized ``[-1, 1]`` space (``y = (u/255 - 0.5)/0.5``).
* ``rgb``: the 8-bit input patch, ``(H, W, 3)`` uint8 RGB (only for the quality signals).
* ``normal``: the calibration's stain-plane normal (3 floats, unit length), for ``stain_p99``.

Filters use the scipy.ndimage ``'reflect'`` border: the image is extended by mirroring *including* the edge
pixel, ``d c b a | a b c d | d c b a`` (what ``skimage.metrics.structural_similarity`` uses).
Gaussian kernels are sampled at integer offsets ``-r..r``, ``w_i = exp(-i^2 / (2 sigma^2))``, normalized to
sum 1, applied separably (rows, then columns). See ``training/README.md`` ("Per-patch statistics").

The scoring half (signals, methods, the calibration block, ``score_patch``) lives in :mod:`.scoring`; its
public names are reachable here too (``stats.score_patch``, ``stats.calibration_block`` ...), so this module
stays the one reference name of docs/scoring and the Swift tests::

    normal = stats.fit_stain_plane(rgbs)["normal"]
    values = stats.patch_statistics(x, x_hat, rgb, stain_normal=normal)
"""

from __future__ import annotations

import hashlib
import json
from typing import Mapping, Sequence

import numpy as np

#: SSIM constants (docs/model.md §15): 11x11 Gaussian window (sigma 1.5, radius 5), K1, K2, L = 2.
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
DATA_RANGE = 2.0
#: Smoothing applied to the error maps before the 99th percentile (sigma 4, radius 12).
SMOOTH_SIGMA = 4.0
SMOOTH_RADIUS = 12
#: Tissue test thresholds (HSV, [0, 1] units).
TISSUE_MIN_SATURATION = 0.07
TISSUE_MAX_VALUE = 0.92
#: Stain plane fit: only pixels with od_R + od_G + od_B above this carry stain (glass and faint pixels have
#: noisy directions).
STAIN_MIN_OD = 0.15
#: ... and at least this many of them (fewer: the plane is not determined well enough).
STAIN_MIN_PIXELS = 1000
#: The stain residual divides by ``max(|od|, STAIN_OD_FLOOR)``: a pixel's share of optical density off the
#: plane, so dense nuclei and faint cytoplasm weigh alike, without the noisy directions of near-white pixels
#: (their |od| is below the floor). Recorded in the block's ``stain_plane.od_floor``.
STAIN_OD_FLOOR = 0.3

#: The statistics of the calibration block, in this order.
STATISTIC_NAMES = ("mse", "l1", "ssim", "mse_p99", "dssim_p99", "tissue_fraction", "sharpness", "stain_p99")

#: Quantile levels of the calibration block: 0, 0.001, 0.005, 0.01 ... 0.99 (every 0.01), 0.995, 0.999, 1.
QUANTILE_LEVELS: tuple[float, ...] = (
    (0.0, 0.001, 0.005) + tuple(round(k / 100, 2) for k in range(1, 100)) + (0.995, 0.999, 1.0)
)


# ----------------------------------------------------------------------------------------------- filtering

def gaussian_kernel1d(sigma: float, radius: int) -> np.ndarray:
    """Normalized 1-D Gaussian, taps at offsets ``-radius..radius`` (float64, sums to 1)."""
    i = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-(i * i) / (2.0 * sigma * sigma))
    return w / w.sum()


def reflect_index(n: int, radius: int) -> np.ndarray:
    """Source indices for a 'reflect' (``d c b a | a b c d``) extension of a length-``n`` axis by ``radius``
    on both sides; valid for any radius (the pattern repeats with period ``2n``)."""
    i = np.arange(-radius, n + radius) % (2 * n)
    return np.where(i >= n, 2 * n - 1 - i, i)


def gaussian_filter2d(img: np.ndarray, sigma: float, radius: int) -> np.ndarray:
    """Separable Gaussian filter of a 2-D array, 'reflect' border, same size as the input (float64)."""
    a = np.asarray(img, dtype=np.float64)
    w = gaussian_kernel1d(sigma, radius)
    h, wd = a.shape
    k = 2 * radius + 1
    # along rows (axis 1)
    p = a[:, reflect_index(wd, radius)]
    out = np.zeros_like(a)
    for t in range(k):
        out += w[t] * p[:, t:t + wd]
    # along columns (axis 0)
    p = out[reflect_index(h, radius), :]
    out2 = np.zeros_like(a)
    for t in range(k):
        out2 += w[t] * p[t:t + h, :]
    return out2


def _pair(x: np.ndarray, x_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(x_hat, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"expected two (C, H, W) arrays of one shape, got {a.shape} and {b.shape}")
    return a, b


# ----------------------------------------------------------------------------------------------- maps

def se_map(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """Squared error averaged over channels: ``mean_c (x - x_hat)^2``, shape (H, W)."""
    a, b = _pair(x, x_hat)
    return ((a - b) ** 2).mean(axis=0)


def ae_map(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """Absolute error averaged over channels: ``mean_c |x - x_hat|``, shape (H, W)."""
    a, b = _pair(x, x_hat)
    return np.abs(a - b).mean(axis=0)


def ssim_map(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """SSIM map averaged over channels, shape (H, W).

    Per channel, with G = Gaussian filter (sigma 1.5, radius 5, reflect border), C1 = (K1 L)^2,
    C2 = (K2 L)^2, L = 2, population (co)variances::

        mx = G(x), my = G(y), vx = G(x*x) - mx^2, vy = G(y*y) - my^2, vxy = G(x*y) - mx*my
        S  = (2 mx my + C1)(2 vxy + C2) / ((mx^2 + my^2 + C1)(vx + vy + C2))
    """
    a, b = _pair(x, x_hat)
    c1 = (SSIM_K1 * DATA_RANGE) ** 2
    c2 = (SSIM_K2 * DATA_RANGE) ** 2
    acc = np.zeros(a.shape[1:], dtype=np.float64)
    for c in range(a.shape[0]):
        p, q = a[c], b[c]
        g = lambda z: gaussian_filter2d(z, SSIM_SIGMA, SSIM_RADIUS)  # noqa: E731
        mx, my = g(p), g(q)
        vx = g(p * p) - mx * mx
        vy = g(q * q) - my * my
        vxy = g(p * q) - mx * my
        acc += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return acc / a.shape[0]


def _smoothed_p99(m: np.ndarray) -> float:
    return float(np.percentile(gaussian_filter2d(m, SMOOTH_SIGMA, SMOOTH_RADIUS), 99))


# ----------------------------------------------------------------------------------------------- statistics

def mse(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Mean squared error: mean of :func:`se_map`."""
    return float(se_map(x, x_hat).mean())


def l1(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Mean absolute error: mean of :func:`ae_map`."""
    return float(ae_map(x, x_hat).mean())


def ssim(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Mean SSIM: mean of :func:`ssim_map` cropped by 5 px on every side (= skimage's mean SSIM)."""
    s = ssim_map(x, x_hat)
    r = SSIM_RADIUS
    return float(s[r:-r, r:-r].mean())


def mse_p99(x: np.ndarray, x_hat: np.ndarray) -> float:
    """99th percentile (numpy 'linear') of :func:`se_map` smoothed by a Gaussian (sigma 4, radius 12)."""
    return _smoothed_p99(se_map(x, x_hat))


def dssim_p99(x: np.ndarray, x_hat: np.ndarray) -> float:
    """99th percentile of ``(1 - ssim_map)/2`` smoothed by a Gaussian (sigma 4, radius 12)."""
    return _smoothed_p99((1.0 - ssim_map(x, x_hat)) / 2.0)


def _rgb(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) RGB array, got {a.dtype} {a.shape}")
    return a


def tissue_mask(rgb: np.ndarray) -> np.ndarray:
    """Boolean (H, W): HSV saturation ``(max - min)/max > 0.07`` and value ``max < 0.92`` (``[0, 1]`` units,
    max/min over R, G, B); pixels with ``max == 0`` (black) count as tissue."""
    a = _rgb(rgb).astype(np.float64) / 255.0
    mx = a.max(axis=2)
    mn = a.min(axis=2)
    sat = np.divide(mx - mn, mx, out=np.zeros_like(mx), where=mx > 0)
    return ((sat > TISSUE_MIN_SATURATION) & (mx < TISSUE_MAX_VALUE)) | (mx == 0)


def tissue_fraction(rgb: np.ndarray) -> float:
    """Fraction of tissue pixels of the 8-bit input patch (see :func:`tissue_mask`)."""
    return float(tissue_mask(rgb).mean())


def gray(rgb: np.ndarray) -> np.ndarray:
    """``g = (0.299 R + 0.587 G + 0.114 B)/255`` in float64."""
    a = _rgb(rgb).astype(np.float64)
    return (0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]) / 255.0


def sharpness(rgb: np.ndarray) -> float:
    """``sqrt(E_all * E_tissue)``: the geometric mean of the Laplacian energy per pixel (``E_all``, the mean of
    ``lap**2`` over the patch) and per tissue pixel (``E_tissue``, over :func:`tissue_mask`; 0 without tissue).
    ``lap = g[i-1,j] + g[i+1,j] + g[i,j-1] + g[i,j+1] - 4 g[i,j]`` of :func:`gray`, reflect border (outside
    pixels mirror the edge). Per tissue pixel, sparse sharp tissue (adipose: thin membranes on clear cells) is
    not "blurred"; per pixel, smooth dense tissue (muscle) is not either — blur lowers both."""
    g = gray(rgb)
    h, w = g.shape
    p = g[reflect_index(h, 1)][:, reflect_index(w, 1)]
    lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4.0 * g
    energy = lap * lap
    mask = tissue_mask(rgb)
    e_tissue = float(energy[mask].mean()) if mask.any() else 0.0
    return float(np.sqrt(float(energy.mean()) * e_tissue))


# ----------------------------------------------------------------------------------------------- stain

#: ``-log10((u + 1)/256)`` for u = 0..255 (float64): every optical density is one of these 256 values, so a
#: table lookup equals computing it per pixel.
_OD_TABLE = -np.log10((np.arange(256, dtype=np.float64) + 1.0) / 256.0)


def optical_density(rgb: np.ndarray) -> np.ndarray:
    """Optical density per pixel and channel, ``od_c = -log10((u_c + 1)/256)`` (float64, (H, W, 3), >= 0;
    white 255 -> 0)."""
    return _OD_TABLE[_rgb(rgb)]


def stain_scatter(rgbs: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    """``(M, n)``: the scatter matrix ``M = sum od od^T`` (3x3, float64) of the pixels of all patches with
    ``od_R + od_G + od_B > STAIN_MIN_OD``, and how many pixels that is."""
    m = np.zeros((3, 3), dtype=np.float64)
    n = 0
    for rgb in rgbs:
        od = optical_density(rgb).reshape(-1, 3)
        keep = od[:, 0] + od[:, 1] + od[:, 2] > STAIN_MIN_OD  # left to right, as the Swift loop adds
        sel = od[keep]
        m += sel.T @ sel
        n += int(keep.sum())
    return m, n


def fit_stain_plane(rgbs: Sequence[np.ndarray]) -> dict:
    """The H&E stain plane of the patches (the plane through the origin their stained pixels' optical
    densities span): ``{"normal": [nx, ny, nz], "pixels": n, "min_od": 0.15, "od_floor": 0.3}``, the normal being the unit
    eigenvector of :func:`stain_scatter`'s matrix for its smallest eigenvalue, its largest-magnitude
    component made positive (first on ties). Raises ValueError below ``STAIN_MIN_PIXELS`` pixels.

    >>> plane = fit_stain_plane([rgb0, rgb1])      # doctest: +SKIP
    """
    m, n = stain_scatter(rgbs)
    if n < STAIN_MIN_PIXELS:
        raise ValueError(f"stain plane: only {n} pixel(s) with optical density above {STAIN_MIN_OD} "
                         f"(need at least {STAIN_MIN_PIXELS}): not enough stained tissue")
    normal = np.linalg.eigh(m)[1][:, 0]
    if normal[int(np.argmax(np.abs(normal)))] < 0:
        normal = -normal
    return {"normal": [float(v) for v in normal], "pixels": n, "min_od": STAIN_MIN_OD, "od_floor": STAIN_OD_FLOOR}


def _normal(normal: Sequence[float]) -> tuple[float, float, float]:
    v = np.asarray(normal, dtype=np.float64)
    if v.shape != (3,) or not np.all(np.isfinite(v)):
        raise ValueError(f"a stain normal is 3 finite numbers, got {normal!r}")
    return float(v[0]), float(v[1]), float(v[2])


def stain_residual_map(rgb: np.ndarray, normal: Sequence[float]) -> np.ndarray:
    """``r = max(n . od, 0) / max(|od|, STAIN_OD_FLOOR)`` per pixel (H, W), in [0, 1]: the share of a pixel's
    optical density that stands off the H&E plane towards blue absorption (``n`` oriented with ``n_B >= 0``: the
    side DAB, pen ink and other blue-absorbing dyes lie on). One-sided because a whole site's H&E tilts off
    another site's plane to the other side (a Hamamatsu scan: median ``n . od`` = -0.09) without being a foreign
    stain."""
    nx, ny, nz = _normal(normal)
    if nz < 0:
        nx, ny, nz = -nx, -ny, -nz
    od = optical_density(rgb)
    r, g, b = od[..., 0], od[..., 1], od[..., 2]
    along = nx * r + ny * g + nz * b
    magnitude = np.sqrt(r * r + g * g + b * b)
    return np.maximum(along, 0.0) / np.maximum(magnitude, STAIN_OD_FLOOR)


def stain_p99(rgb: np.ndarray, normal: Sequence[float]) -> float:
    """99th percentile (numpy 'linear') of :func:`stain_residual_map` smoothed like ``mse_p99``."""
    return _smoothed_p99(stain_residual_map(rgb, normal))


def patch_statistics(x: np.ndarray, x_hat: np.ndarray, rgb: np.ndarray | None = None,
                     stain_normal: Sequence[float] | None = None) -> dict[str, float]:
    """All statistics of one patch, computing each map once: the quality signals only when ``rgb`` is given,
    ``stain_p99`` only when ``stain_normal`` is given too. Keys in :data:`STATISTIC_NAMES` order."""
    se = se_map(x, x_hat)
    sm = ssim_map(x, x_hat)
    r = SSIM_RADIUS
    out = {
        "mse": float(se.mean()),
        "l1": float(ae_map(x, x_hat).mean()),
        "ssim": float(sm[r:-r, r:-r].mean()),
        "mse_p99": _smoothed_p99(se),
        "dssim_p99": _smoothed_p99((1.0 - sm) / 2.0),
    }
    if rgb is not None:
        out["tissue_fraction"] = tissue_fraction(rgb)
        out["sharpness"] = sharpness(rgb)
        if stain_normal is not None:
            out["stain_p99"] = stain_p99(rgb, stain_normal)
    return out


# ----------------------------------------------------------------------------------------------- calibration

def summarize(name: str, values: Sequence[float]) -> dict:
    """Quantiles (numpy 'linear', at :data:`QUANTILE_LEVELS`), mean and population std of one statistic;
    ``log_mean``/``log_std`` of ``log(v)`` (``log(1 - v)`` for ``ssim``) only where every argument is > 0."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError(f"no values for {name}")
    out: dict = {
        "quantiles": [float(q) for q in np.quantile(v, QUANTILE_LEVELS)],
        "mean": float(v.mean()),
        "std": float(v.std()),
    }
    arg = 1.0 - v if name == "ssim" else v
    if np.all(arg > 0):
        lv = np.log(arg)
        out["log_transform"] = "log(1 - x)" if name == "ssim" else "log(x)"
        out["log_mean"] = float(lv.mean())
        out["log_std"] = float(lv.std())
    return out


def calibration_digest(block: Mapping) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of a calibration block."""
    s = json.dumps(block, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(s.encode("utf-8")).hexdigest()



#: Names defined in :mod:`.scoring` and reachable as ``stats.<name>`` (scoring imports this module, so they
#: are looked up on first use rather than imported here).
_SCORING_NAMES = frozenset((
    "NOT_TISSUE_MAX_FRACTION", "TAIL_LEVEL", "MIN_CALIBRATION_PATCHES", "BETA_FLOOR", "DEVIATION_FLOOR",
    "DEFAULT_THRESHOLD", "SIGNAL_NAMES", "METHOD_NAMES", "HIGH_ERROR_STATISTICS", "V1_BLOCK_MESSAGE",
    "deviation", "percentile", "interpolate", "quantile_at", "signals", "method_deviation", "method_distribution",
    "calibration_block", "require_v2", "exceedance", "score", "threshold_deviation", "verdict", "score_patch",
))


def __getattr__(name: str):
    if name in _SCORING_NAMES:
        from . import scoring  # noqa: PLC0415
        return getattr(scoring, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
