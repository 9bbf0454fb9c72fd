"""scores.json for the Swift scoring tests (part of make_scoring_fixtures.py): ``stats.score_patch`` results of
designed and real cases against calibration.json's block, plus exceedance and threshold-deviation queries.

Designed cases set each statistic at a chosen deviation ``z`` of the block's fits (``value_at``), so every
branch is hit on purpose: the table and the tail of the method tables, the plateau at D = 0, each flag, the
absolute not-tissue rule. Every result is checked to stay clear (> 1e-6) of a decision edge (a tie between
candidates, the tail start, the flag deviation, the threshold), so a faithful float64 port decides alike.

    write_scores(block, statistics_cases, fitted_normal)      # writes Tests/ScoringTests/Fixtures/scores.json
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from histoae_training import stats

OUT = Path("Tests/ScoringTests/Fixtures")
THRESHOLDS = (0.5, 0.9, 0.99, 0.999)
#: (method, threshold) of each case's results: every method at the default; signals and combined at every
#: threshold (the score depends on the method only; the threshold changes verdict, flags and the fpr fields).
COMBINATIONS = tuple((m, 0.99) for m in stats.METHOD_NAMES) + tuple(
    (m, t) for m in ("signals", "combined") for t in THRESHOLDS if t != 0.99)
QUERY_THRESHOLDS = (0.0, 0.3, 0.5, 0.85, 0.9, 0.95, 0.99, 0.999)
MARGIN = 1e-6

#: name -> (what it shows, {statistic: z}); tissue_fraction may be given as a value ("tf").
DESIGNED = {
    "typical": ("every signal near normal; signals D from high_error (dssim_p99) in the table",
                {"mse": -0.3, "l1": 0.1, "ssim": 0.2, "mse_p99": -0.5, "dssim_p99": 0.35, "tissue_fraction": 0.4,
                 "sharpness": 0.5, "stain_p99": -0.2}),
    "quiet": ("every signal below normal: signals D = 0 (the plateau), high_error reports a negative deviation",
              {"mse": -1.0, "l1": -1.0, "ssim": -0.8, "mse_p99": -1.2, "dssim_p99": -0.9, "tissue_fraction": 0.3,
               "sharpness": 0.6, "stain_p99": -0.7}),
    "table_mid": ("signals D between the median and the tail start: anomalous at 0.5 only",
                  {"mse": -0.4, "l1": 0.0, "ssim": -0.2, "mse_p99": -0.1, "dssim_p99": "q0.7", "tissue_fraction": 0.2,
                   "sharpness": 0.3, "stain_p99": -0.5}),
    "tail": ("high_error past the tail start (exponential tail branch)",
             {"mse": 0.2, "l1": 0.5, "ssim": 0.4, "mse_p99": 0.3, "dssim_p99": "t+0.6", "tissue_fraction": 0.1,
              "sharpness": 0.2, "stain_p99": 0.1}),
    "far_tail": ("mse_p99 far out: score close to 1, anomalous at every threshold",
                 {"mse": 1.5, "l1": 1.0, "ssim": 1.2, "mse_p99": 8.0, "dssim_p99": 1.4, "tissue_fraction": 0.2,
                  "sharpness": 0.1, "stain_p99": 0.3}),
    "stain": ("pen/ink: stain_p99 far above normal, the stain flag",
              {"mse": 0.4, "l1": 0.3, "ssim": 0.5, "mse_p99": 0.6, "dssim_p99": 0.45, "tissue_fraction": 0.5,
               "sharpness": 0.2, "stain_p99": 5.0}),
    "blur": ("out of focus: sharpness far below normal, the blur flag",
             {"mse": -1.0, "l1": -0.9, "ssim": -1.1, "mse_p99": -0.8, "dssim_p99": -1.3, "tissue_fraction": 0.3,
              "sharpness": -5.0, "stain_p99": -0.4}),
    "not_tissue": ("glass: tissue fraction 0.03 (< 0.10): verdict not_tissue and the background flag",
                   {"mse": -3.0, "l1": -2.5, "ssim": -3.5, "mse_p99": -2.8, "dssim_p99": -3.2, "tf": 0.03,
                    "sharpness": -4.0, "stain_p99": -1.5}),
    "adipose": ("tissue fraction 0.25 (>= 0.10): background signal 0; combined still sees -z(tissue_fraction)",
                {"mse": -0.5, "l1": -0.4, "ssim": -0.6, "mse_p99": -0.3, "dssim_p99": -0.2, "tf": 0.25,
                 "sharpness": -0.5, "stain_p99": -0.3}),
    "low_error": ("reconstruction far better than normal: two-sided methods call it, signals does not",
                  {"mse": -5.0, "l1": -4.0, "ssim": -5.5, "mse_p99": -4.5, "dssim_p99": -4.8, "tissue_fraction": 0.1,
                   "sharpness": 0.2, "stain_p99": -0.1}),
    "all_flags": ("high error, stain, blur and glass at once: all four flags",
                  {"mse": 2.0, "l1": 1.5, "ssim": 2.5, "mse_p99": 3.0, "dssim_p99": 6.0, "tf": 0.05,
                   "sharpness": -6.5, "stain_p99": 7.0}),
}


def value_at(block: dict, name: str, z: float) -> float:
    """The value of statistic ``name`` at deviation ``z`` (the inverse of stats.deviation)."""
    s = block["statistics"][name]
    if "log_mean" in s:
        a = math.exp(s["log_mean"] + z * s["log_std"])
    else:
        a = (1 - s["mean"] if name == "ssim" else s["mean"]) + z * s["std"]
    return 1 - a if name == "ssim" else a


def designed_statistics(block: dict, spec: dict) -> dict:
    tail = block["methods"]["signals"]["tail"]
    out = {}
    for name in stats.STATISTIC_NAMES:
        if name == "tissue_fraction" and "tf" in spec:  # a value, not a deviation
            out[name] = float(spec["tf"])
            continue
        z = spec[name]
        if isinstance(z, str) and z.startswith("q"):
            z = stats.quantile_at(float(z[1:]), block["methods"]["signals"]["quantiles"], block["quantile_levels"])
        elif isinstance(z, str) and z.startswith("t+"):
            z = tail["start"] + float(z[2:])
        out[name] = value_at(block, name, float(z))
    return out


def check_margins(values: dict, block: dict, result: dict) -> None:
    """Fails when a decision of ``result`` sits within MARGIN of its edge (float64 ports could differ)."""
    name = result["method"]
    sig = stats.signals(values, block)
    if name == "signals":
        cands = [0.0] + [sig[k][0] for k in stats.SIGNAL_NAMES]
    else:
        z = {k: stats.deviation(values[k], k, block) for k in stats.STATISTIC_NAMES}
        cands = {"combined": [0.0] + [abs(z[k]) for k in stats.HIGH_ERROR_STATISTICS]
                 + [-z["tissue_fraction"], -z["sharpness"]],
                 "one_sided_dssim": [0.0, z["dssim_p99"]], "two_sided_log_ssim": [abs(z["ssim"])],
                 "two_sided_log_dssim": [abs(z["dssim_p99"])]}[name]
    top = sorted(cands, reverse=True)
    assert len(top) == 1 or top[0] - top[1] > MARGIN or top[0] == top[1] == 0.0, (name, top[:2])
    he = sorted((stats.deviation(values[k], k, block) for k in stats.HIGH_ERROR_STATISTICS), reverse=True)
    assert he[0] - he[1] > MARGIN, he
    d = stats.method_deviation(name, values, block)[0]
    assert abs(d - block["methods"][name]["tail"]["start"]) > MARGIN
    assert abs(result["score"] - result["threshold"]) > MARGIN, (name, result["score"], result["threshold"])
    d_star = stats.threshold_deviation(result["threshold"], block)
    for k in ("high_error", "stain", "blur"):
        assert abs(sig[k][0] - d_star) > MARGIN, (k, sig[k][0], d_star)
    assert abs(values["tissue_fraction"] - stats.NOT_TISSUE_MAX_FRACTION) > MARGIN


def case_results(name: str, note: str, values: dict, block: dict) -> dict:
    results = []
    for method, thr in COMBINATIONS:
        r = stats.score_patch(values, block, method, thr)
        check_margins(values, block, r)
        results.append(r)
    return {"name": name, "note": note, "statistics": values, "results": results}


def queries(block: dict) -> dict:
    out = {}
    for method in stats.METHOD_NAMES:
        tab = block["methods"][method]
        q, t, beta = tab["quantiles"], tab["tail"]["start"], tab["tail"]["scale"]
        ds = sorted({0.0, q[0] - 0.5, q[0], q[10], q[52], (q[52] + q[53]) / 2, q[80], t, t + 1e-3, t + beta,
                     t + 3 * beta, q[-1], q[-1] + 2.0, 40.0})
        out[method] = {
            "deviations": ds,
            "exceedances": [stats.exceedance(d, block, method) for d in ds],
            "scores": [stats.score(d, block, method) for d in ds],
            "percentiles": [stats.interpolate(d, q, block["quantile_levels"]) for d in ds],
            "thresholds": list(QUERY_THRESHOLDS),
            "threshold_deviations": [stats.threshold_deviation(thr, block, method) for thr in QUERY_THRESHOLDS],
        }
    return out


def write_scores(block: dict, statistics_cases: list[dict], normal: list[float]) -> None:
    cases = [case_results(name, note, designed_statistics(block, spec), block)
             for name, (note, spec) in DESIGNED.items()]
    for c in statistics_cases:  # the real full-size cases of statistics.json, with stain_p99 of their input
        if "input" not in c:
            continue
        rgb = np.asarray(Image.open(OUT / c["input"]).convert("RGB"), dtype=np.uint8)
        values = dict(c["statistics"], stain_p99=stats.stain_p99(rgb, normal))
        cases.append(case_results(c["name"], f"statistics.json case {c['name']} + stain_p99 of {c['input']} "
                                  "(stain.json's fitted normal)", values, block))
    typical = cases[0]["statistics"]
    extra = [stats.score_patch(typical, block, "signals", 1 - 0.05, threshold_source="user fpr"),
             stats.score_patch(cases[3]["statistics"], block, "signals", 1.0)]
    lines = ['{"calibration": "calibration.json",',
             f' "thresholds": {json.dumps(list(THRESHOLDS))},',
             f' "queries": {json.dumps(queries(block), allow_nan=False, separators=(",", ":"))},',
             ' "extra": [' + ",\n  ".join(json.dumps(r, separators=(",", ":")) for r in extra) + '],',
             ' "cases": [']
    for i, c in enumerate(cases):
        head = json.dumps({k: c[k] for k in ("name", "note", "statistics")}, separators=(",", ":"))[:-1]
        body = ",\n   ".join(json.dumps(r, separators=(",", ":"), allow_nan=False) for r in c["results"])
        lines.append(f'  {head},"results":[\n   {body}]}}' + ("," if i < len(cases) - 1 else ""))
    lines.append(" ]}")
    text = "\n".join(lines) + "\n"
    json.loads(text)
    (OUT / "scores.json").write_text(text)
