"""Scoring v2 (issue 15): from a patch's statistics to named signals, a raw deviation per method, one
calibrated score (a false-positive rate), flags and a verdict; and the calibration block that makes it.

The reference the Swift ``Scoring`` module mirrors (docs: docs/scoring.md, training/README.md
"Scoring"). Every public name here is also reachable as ``histoae_training.stats.<name>``::

    block = calibration_block(per_patch, "site X normal colon", fit_stain_plane(rgbs))
    result = score_patch(patch_statistics(x, x_hat, rgb, block["stain_plane"]["normal"]), block)
    result["verdict"]                       # "normal" | "anomalous" | "not_tissue"

``block`` is a calibration block (``model.json``'s ``calibration``); ``values`` a {statistic: value} mapping
with every name of :data:`stats.STATISTIC_NAMES`.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import Mapping, Sequence

import numpy as np

from .stats import QUANTILE_LEVELS, STAIN_OD_FLOOR, STATISTIC_NAMES, summarize

#: A patch with less tissue than this is glass, whatever the calibration says: an absolute rule, not a
#: calibrated one, because blank sets have a tissue fraction <= 0.035 at their 99th percentile, while adipose
#: tissue (large clear cells, thin membranes) has 0.16-0.40 and the old calibrated test (z <= -3 against
#: normals filtered to >= 0.5 tissue) called every adipose patch background.
NOT_TISSUE_MAX_FRACTION = 0.10
#: The method tables switch to the exponential tail above this level.
TAIL_LEVEL = 0.9
#: Fewer normal patches leave fewer than 5 above the 90th percentile for the tail fit.
MIN_CALIBRATION_PATCHES = 50
#: Smallest tail scale (a tail of equal values would otherwise have scale 0).
BETA_FLOOR = 1e-6
#: Smallest argument of log and smallest std in a deviation (Swift ``StatisticCalibration.floor``).
DEVIATION_FLOOR = 1e-12
#: The threshold when none is given: a nominal false-positive rate of 1 %.
DEFAULT_THRESHOLD = 0.99

SIGNAL_NAMES = ("high_error", "stain", "blur", "background")
METHOD_NAMES = ("signals", "combined", "one_sided_dssim", "two_sided_log_ssim", "two_sided_log_dssim")
#: The statistics ``high_error`` takes the maximum deviation over (ties: the first).
HIGH_ERROR_STATISTICS = ("mse", "ssim", "mse_p99", "dssim_p99")
#: Blocks without a stain plane (v1) or without ``stain_plane.od_floor`` (1.2.0 cards: the absolute stain
#: residual and whole-patch sharpness) are refused with this (Swift ``ScoringError.outdatedCalibration``).
V1_BLOCK_MESSAGE = ("calibration block predates scoring v2.1 (no stain_plane, or no stain_plane.od_floor 0.3: its "
                    "stain and sharpness tables measure older statistics): recalibrate with histoae calibrate")

_SIMILARITY = frozenset({"ssim"})  # larger = better: the deviation uses 1 - value


# ----------------------------------------------------------------------------------------------- the table

def interpolate(value: float, quantiles: Sequence[float], levels: Sequence[float]) -> float:
    """Fraction of normal patches below ``value`` from a quantile table (Swift ``Calibration.interpolate``):
    below the first quantile -> the first level; above the last -> the last level; equal to a run of equal
    quantiles (a plateau) -> the middle of the run's levels; else linear between the neighbouring levels."""
    q, p = quantiles, levels
    if math.isnan(value):
        return math.nan
    if value < q[0]:
        return float(p[0])
    if value > q[-1]:
        return float(p[-1])
    first, after = bisect_left(q, value), bisect_right(q, value)  # first q >= value, first q > value
    if first < after:
        return (p[first] + p[after - 1]) / 2
    lo, hi = first - 1, first
    span = q[hi] - q[lo]
    # A hostile card's table may span more than float's range (-max ... max): the span and the offset then
    # overflow to inf/inf = nan, so take the ratio of halves, which cannot overflow (as Swift does).
    if math.isfinite(span):
        level = p[lo] + (p[hi] - p[lo]) * (value - q[lo]) / span
    else:
        level = p[lo] + (p[hi] - p[lo]) * (value / 2 - q[lo] / 2) / (q[hi] / 2 - q[lo] / 2)
    return min(max(level, p[lo]), p[hi])  # rounding must not step outside the bracket's levels


def quantile_at(level: float, quantiles: Sequence[float], levels: Sequence[float]) -> float:
    """The value below which a ``level`` fraction of normal patches lie (Swift ``Calibration.quantile(at:)``)."""
    q, p = quantiles, levels
    if level <= p[0]:
        return float(q[0])
    if level >= p[-1]:
        return float(q[-1])
    hi = bisect_left(p, level)
    if p[hi] == level:
        return float(q[hi])
    t = (level - p[hi - 1]) / (p[hi] - p[hi - 1])
    return q[hi - 1] + t * (q[hi] - q[hi - 1])


def percentile(value: float, name: str, block: Mapping) -> float:
    """``P(value)`` of statistic ``name``: the fraction of calibration patches below it."""
    return interpolate(value, block["statistics"][name]["quantiles"], block["quantile_levels"])


def deviation(value: float, name: str, block: Mapping) -> float:
    """Signed deviation of ``value`` from the normal fit of statistic ``name``, positive = more than normal
    (for ``ssim`` the argument is ``1 - ssim``: positive = more error). With the log fit:
    ``(log(max(a, 1e-12)) - log_mean) / max(log_std, 1e-12)``; without: ``(a - centre) / max(std, 1e-12)``
    (``centre`` = mean, or ``1 - mean`` for ssim). Same as Swift ``StatisticCalibration.deviation``."""
    s = block["statistics"][name]
    similarity = name in _SIMILARITY
    a = 1.0 - value if similarity else value
    if s.get("log_mean") is not None and s.get("log_std") is not None:
        return (math.log(max(a, DEVIATION_FLOOR)) - s["log_mean"]) / max(s["log_std"], DEVIATION_FLOOR)
    centre = 1.0 - s["mean"] if similarity else s["mean"]
    return (a - centre) / max(s["std"], DEVIATION_FLOOR)


# ----------------------------------------------------------------------------------------------- signals, methods

def signals(values: Mapping[str, float], block: Mapping) -> dict[str, tuple[float, str]]:
    """{signal: (deviation, statistic reported)} in :data:`SIGNAL_NAMES` order::

        high_error  max(z(mse), z(ssim), z(mse_p99), z(dssim_p99))   the argmax (first on ties)
        stain       z(stain_p99)                                       stain_p99
        blur        -z(sharpness)                                      sharpness
        background  -z(tissue_fraction) if tissue_fraction < 0.10 else 0   tissue_fraction
    """
    best_name = HIGH_ERROR_STATISTICS[0]
    best = deviation(values[best_name], best_name, block)
    for name in HIGH_ERROR_STATISTICS[1:]:
        z = deviation(values[name], name, block)
        if z > best:
            best, best_name = z, name
    tf = values["tissue_fraction"]
    return {
        "high_error": (best, best_name),
        "stain": (deviation(values["stain_p99"], "stain_p99", block), "stain_p99"),
        "blur": (-deviation(values["sharpness"], "sharpness", block), "sharpness"),
        "background": (-deviation(tf, "tissue_fraction", block) if tf < NOT_TISSUE_MAX_FRACTION else 0.0,
                       "tissue_fraction"),
    }


def method_deviation(method: str, values: Mapping[str, float], block: Mapping) -> tuple[float, str, float]:
    """``(D, deciding statistic, reported deviation)`` of one method; ``D >= 0``, larger = less like normal.

    ``signals``: D = max(0, the four signals), the deciding signal's statistic and deviation (when 0 wins,
    ties included, ``high_error``'s). ``combined``: D = max(0, |z| of mse, ssim, mse_p99, dssim_p99 and -z of
    tissue_fraction, sharpness), the argmax statistic (first on ties) and its signed z. ``one_sided_dssim``:
    max(0, z(dssim_p99)); ``two_sided_log_ssim``: |z(ssim)|; ``two_sided_log_dssim``: |z(dssim_p99)|, each
    with that statistic's signed z."""
    if method == "signals":
        sig = signals(values, block)
        d, name = 0.0, "high_error"
        for k in SIGNAL_NAMES:
            if sig[k][0] > d:
                d, name = sig[k][0], k
        return d, sig[name][1], sig[name][0]
    if method == "combined":
        cands = [(abs(z), k, z) for k in HIGH_ERROR_STATISTICS for z in (deviation(values[k], k, block),)]
        cands += [(-z, k, z) for k in ("tissue_fraction", "sharpness") for z in (deviation(values[k], k, block),)]
        best = cands[0]
        for c in cands[1:]:
            if c[0] > best[0]:
                best = c
        return max(0.0, best[0]), best[1], best[2]
    if method == "one_sided_dssim":
        z = deviation(values["dssim_p99"], "dssim_p99", block)
        return max(0.0, z), "dssim_p99", z
    if method in ("two_sided_log_ssim", "two_sided_log_dssim"):
        name = "ssim" if method == "two_sided_log_ssim" else "dssim_p99"
        z = deviation(values[name], name, block)
        return abs(z), name, z
    raise ValueError(f"unknown method {method!r}; one of {', '.join(METHOD_NAMES)}")


# ----------------------------------------------------------------------------------------------- the block

def method_distribution(d: Sequence[float]) -> dict:
    """The calibration of one method from the calibration patches' D: ``quantiles`` (numpy 'linear', at
    :data:`QUANTILE_LEVELS`) and the exponential ``tail`` above the 0.9 quantile ``t``: ``scale`` = the mean
    of ``D - t`` over the ``exceedances`` patches with ``D > t`` (floored at 1e-6)."""
    v = np.asarray(d, dtype=np.float64)
    quantiles = [float(q) for q in np.quantile(v, QUANTILE_LEVELS)]
    t = quantiles[QUANTILE_LEVELS.index(TAIL_LEVEL)]
    over = v[v > t] - t
    beta = max(float(over.mean()), BETA_FLOOR) if over.size else BETA_FLOOR
    return {"quantiles": quantiles,
            "tail": {"level": TAIL_LEVEL, "start": t, "scale": beta, "exceedances": int(over.size)}}


def calibration_block(per_patch: Mapping[str, Sequence[float]], source: str, stain_plane: Mapping) -> dict:
    """The ``calibration`` block of model.json: ``source``, ``patches``, ``quantile_levels``, ``statistics``
    (8, :func:`stats.summarize`), ``stain_plane`` (as given, from :func:`stats.fit_stain_plane`) and
    ``methods`` (5, :func:`method_distribution` of each method's D over the same patches, computed with the
    block's own statistic fits). Raises ValueError below :data:`MIN_CALIBRATION_PATCHES` patches."""
    missing = [k for k in STATISTIC_NAMES if k not in per_patch]
    if missing:
        raise ValueError(f"per-patch values lack {', '.join(missing)}")
    counts = {len(per_patch[k]) for k in STATISTIC_NAMES}
    if len(counts) != 1:
        raise ValueError(f"statistics have different counts: {sorted(counts)}")
    n = counts.pop()
    if n < MIN_CALIBRATION_PATCHES:
        raise ValueError(f"{n} patch(es): calibration needs at least {MIN_CALIBRATION_PATCHES} normal patches "
                         f"(the tail fit above the {TAIL_LEVEL:g} quantile needs at least 5 exceedances)")
    plane = {"normal": [float(v) for v in stain_plane["normal"]], "pixels": int(stain_plane["pixels"]),
             "min_od": float(stain_plane["min_od"]), "od_floor": STAIN_OD_FLOOR}
    if len(plane["normal"]) != 3 or not all(math.isfinite(v) for v in plane["normal"]):
        raise ValueError(f"stain_plane.normal must be 3 finite numbers, got {stain_plane['normal']!r}")
    block = {"source": source, "patches": n, "quantile_levels": list(QUANTILE_LEVELS),
             "statistics": {k: summarize(k, per_patch[k]) for k in STATISTIC_NAMES}, "stain_plane": plane}
    rows = [{k: float(per_patch[k][i]) for k in STATISTIC_NAMES} for i in range(n)]
    block["methods"] = {m: method_distribution([method_deviation(m, r, block)[0] for r in rows])
                        for m in METHOD_NAMES}
    return block


def require_v2(block: Mapping) -> None:
    """Raises ValueError for a block written before scoring v2 (no stain plane, no method tables) or with the
    first v2 stain and sharpness statistics (no ``stain_plane.od_floor``; 1.2.0 cards)."""
    if "stain_plane" not in block or "stain_p99" not in block.get("statistics", {}):
        raise ValueError(V1_BLOCK_MESSAGE)
    if block["stain_plane"].get("od_floor") != STAIN_OD_FLOOR:
        raise ValueError(V1_BLOCK_MESSAGE)
    missing = [m for m in METHOD_NAMES if m not in block.get("methods", {})]
    if missing:
        raise ValueError(f"calibration block lacks the method table(s) {', '.join(missing)}: "
                         "recalibrate with histoae calibrate")


# ----------------------------------------------------------------------------------------------- the score

def exceedance(d: float, block: Mapping, method: str = "signals") -> float:
    """Estimated fraction of normal patches with a deviation >= ``d``: ``1 - P(d)`` from the method's table
    up to the tail start ``t``, ``(1 - level) * exp(-(d - t)/scale)`` above it."""
    m = block["methods"][method]
    tail = m["tail"]
    if d <= tail["start"]:
        return 1.0 - interpolate(d, m["quantiles"], block["quantile_levels"])
    return (1.0 - tail["level"]) * math.exp(-(d - tail["start"]) / tail["scale"])


def score(d: float, block: Mapping, method: str = "signals") -> float:
    """``1 - exceedance(d)``, in [0, 1]: a patch scoring ``s`` is less like normal than a ``s`` fraction of
    normal patches (by the table, then the tail fit)."""
    return 1.0 - exceedance(d, block, method)


def threshold_deviation(threshold: float, block: Mapping, method: str = "signals") -> float:
    """The deviation ``D*`` at which ``score`` reaches ``threshold``: ``t + scale * ln((1 - level)/(1 -
    threshold))`` for threshold >= level (+inf at 1), else the method's table read the other way."""
    m = block["methods"][method]
    tail = m["tail"]
    if threshold >= tail["level"]:
        if threshold >= 1.0:
            return math.inf
        return tail["start"] + tail["scale"] * math.log((1.0 - tail["level"]) / (1.0 - threshold))
    return quantile_at(threshold, m["quantiles"], block["quantile_levels"])


def verdict(tissue_fraction: float, score_value: float, threshold: float) -> str:
    """``not_tissue`` below 10 % tissue, else ``anomalous`` when ``score >= threshold``, else ``normal``."""
    if tissue_fraction < NOT_TISSUE_MAX_FRACTION:
        return "not_tissue"
    return "anomalous" if score_value >= threshold else "normal"


def _threshold_source(threshold: float, source: str | None) -> str:
    if source is not None:
        if source not in ("default (fpr 0.01)", "user threshold", "user fpr"):
            raise ValueError(f"threshold_source {source!r} is not one of the three the spec names")
        return source
    return "default (fpr 0.01)" if threshold == DEFAULT_THRESHOLD else "user threshold"


def score_patch(values: Mapping[str, float], block: Mapping, method: str = "signals",
                threshold: float = DEFAULT_THRESHOLD, threshold_source: str | None = None) -> dict:
    """The whole result of one patch, keys in the order of Swift ``PatchScore`` (without ``model``):
    statistics, method, score, threshold, fpr, threshold_source, anomalous, verdict, percentile,
    score_statistic, deviation, flags, signals, percentiles, deviations, calibration.

    ``threshold_source`` None: ``"default (fpr 0.01)"`` when ``threshold`` is 0.99, else ``"user threshold"``
    (pass ``"user fpr"`` with ``threshold = 1 - fpr`` for a user false-positive rate)."""
    require_v2(block)
    if method not in METHOD_NAMES:
        raise ValueError(f"unknown method {method!r}; one of {', '.join(METHOD_NAMES)}")
    if not (isinstance(threshold, (int, float)) and 0.0 <= threshold <= 1.0):
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    stats_values = {k: float(values[k]) for k in STATISTIC_NAMES}
    if not all(math.isfinite(v) for v in stats_values.values()):
        raise ValueError("statistics must be finite")
    d, statistic, dev = method_deviation(method, stats_values, block)
    s = score(d, block, method)
    sig = signals(stats_values, block)
    d_star = threshold_deviation(threshold, block, "signals")
    background = stats_values["tissue_fraction"] < NOT_TISSUE_MAX_FRACTION
    flagged = {k: (background if k == "background" else sig[k][0] >= d_star) for k in SIGNAL_NAMES}
    v = verdict(stats_values["tissue_fraction"], s, threshold)
    return {
        "statistics": stats_values,
        "method": method,
        "score": s,
        "threshold": float(threshold),
        "fpr": 1.0 - threshold,
        "threshold_source": _threshold_source(threshold, threshold_source),
        "anomalous": v != "normal",
        "verdict": v,
        "percentile": interpolate(d, block["methods"][method]["quantiles"], block["quantile_levels"]),
        "score_statistic": statistic,
        "deviation": dev,
        "flags": [k for k in SIGNAL_NAMES if flagged[k]],
        "signals": {k: {"deviation": sig[k][0], "statistic": sig[k][1], "flag": flagged[k]} for k in SIGNAL_NAMES},
        "percentiles": {k: percentile(stats_values[k], k, block) for k in STATISTIC_NAMES},
        "deviations": {k: deviation(stats_values[k], k, block) for k in STATISTIC_NAMES},
        "calibration": {"source": block["source"], "patches": block["patches"]},
    }
