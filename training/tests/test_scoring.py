"""Scoring v2 (histoae_training.scoring, also reachable as stats.*): the table, deviations, signals, methods,
the calibration block with its tail fits, exceedance/score/threshold, flags, verdict and the result layout."""

import json
import math
import sys

import numpy as np
import pytest

from histoae_training import scoring, stats

PLANE = {"normal": [0.2, -0.1, 0.9746794344808963], "pixels": 12345, "min_od": 0.15, "od_floor": 0.3}


def synthetic_values(n, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "mse": np.exp(rng.normal(np.log(0.003), 0.4, n)).tolist(),
        "l1": np.exp(rng.normal(np.log(0.04), 0.3, n)).tolist(),
        "ssim": (1 - np.exp(rng.normal(np.log(0.05), 0.35, n))).tolist(),
        "mse_p99": np.exp(rng.normal(np.log(0.02), 0.5, n)).tolist(),
        "dssim_p99": np.exp(rng.normal(np.log(0.08), 0.4, n)).tolist(),
        "tissue_fraction": np.clip(rng.beta(20, 1.5, n), 0.3, 1.0).tolist(),
        "sharpness": np.exp(rng.normal(np.log(0.004), 0.5, n)).tolist(),
        "stain_p99": np.exp(rng.normal(np.log(0.03), 0.3, n)).tolist(),
    }


@pytest.fixture(scope="module")
def per_patch():
    return synthetic_values(300)


@pytest.fixture(scope="module")
def block(per_patch):
    return stats.calibration_block(per_patch, "unit test", PLANE)


def unit_block(**fits):
    """A block whose every statistic has log_mean 0, log_std 1 (z = ln a) unless overridden."""
    levels = list(stats.QUANTILE_LEVELS)
    st = {k: {"quantiles": list(np.linspace(0.001, 1, len(levels))), "mean": 0.5, "std": 0.1,
              "log_transform": "log(1 - x)" if k == "ssim" else "log(x)", "log_mean": 0.0, "log_std": 1.0}
          for k in stats.STATISTIC_NAMES}
    for k, v in fits.items():
        st[k] = v
    return {"source": "t", "patches": 50, "quantile_levels": levels, "statistics": st, "stain_plane": PLANE}


def row(**over):
    base = {"mse": 1.0, "l1": 1.0, "ssim": 0.0, "mse_p99": 1.0, "dssim_p99": 1.0, "tissue_fraction": 0.9,
            "sharpness": 1.0, "stain_p99": 1.0}  # every z = ln(1) = 0
    base.update(over)
    return base


# ----------------------------------------------------------------------------------------------- the table

def test_interpolate_is_np_interp_and_plateau_middle():
    q, p = [0.0, 1.0, 1.0, 1.0, 2.0], [0.0, 0.25, 0.5, 0.75, 1.0]
    assert scoring.interpolate(1.0, q, p) == 0.5                 # a plateau: the middle of its levels
    assert scoring.interpolate(0.5, q, p) == 0.125
    assert scoring.interpolate(1.5, q, p) == 0.875
    assert scoring.interpolate(-3, q, p) == 0 and scoring.interpolate(9, q, p) == 1
    assert math.isnan(scoring.interpolate(math.nan, q, p))
    rng = np.random.default_rng(1)
    qs = np.sort(rng.random(105)).tolist()
    for v in rng.uniform(-0.1, 1.1, 50):
        assert scoring.interpolate(v, qs, stats.QUANTILE_LEVELS) == pytest.approx(
            np.interp(v, qs, stats.QUANTILE_LEVELS), abs=1e-15)
    for level in (0.0, 0.0005, 0.3, 0.905, 0.9995, 1.0):
        v = scoring.quantile_at(level, qs, stats.QUANTILE_LEVELS)
        assert scoring.interpolate(v, qs, stats.QUANTILE_LEVELS) == pytest.approx(level, abs=1e-12)


def test_deviation_log_fit_linear_fallback_and_floor():
    b = unit_block(tissue_fraction={"quantiles": [0] * 105, "mean": 0.8, "std": 0.1})
    assert scoring.deviation(math.e, "mse", b) == pytest.approx(1.0)
    assert scoring.deviation(1 - math.e ** -2, "ssim", b) == pytest.approx(-2.0)   # log(1 - ssim) = -2: less error
    assert scoring.deviation(1 - math.e ** 2, "ssim", b) == pytest.approx(2.0)      # lower SSIM: more error
    assert scoring.deviation(1.0, "ssim", b) == pytest.approx(math.log(1e-12))      # perfect: floored, finite
    assert scoring.deviation(0.5, "tissue_fraction", b) == pytest.approx(-3.0)      # no log fit: linear
    b["statistics"]["mse"]["log_std"] = 0.0
    assert scoring.deviation(math.e, "mse", b) == pytest.approx(1e12)               # std floored at 1e-12


def test_signals_formulas():
    b = unit_block()
    s = stats.signals(row(mse=math.e, dssim_p99=math.e ** 2, sharpness=math.e ** -3, stain_p99=math.e ** 0.5), b)
    assert list(s) == ["high_error", "stain", "blur", "background"]
    assert s["high_error"] == (pytest.approx(2.0), "dssim_p99")
    assert s["stain"] == (pytest.approx(0.5), "stain_p99")
    assert s["blur"] == (pytest.approx(3.0), "sharpness")
    assert s["background"] == (0.0, "tissue_fraction")                              # tissue >= 0.10
    # ties go to the first in (mse, ssim, mse_p99, dssim_p99); high_error may be negative
    tie = stats.signals(row(mse=math.e, ssim=1 - math.e, mse_p99=math.e, dssim_p99=math.e), b)
    assert tie["high_error"] == (pytest.approx(1.0), "mse")
    low = stats.signals(row(mse=0.1, ssim=1 - 0.2, mse_p99=0.3, dssim_p99=0.05), b)
    assert low["high_error"] == (pytest.approx(math.log(0.3)), "mse_p99")
    # background only below the absolute 0.10 rule; adipose-like 0.2 tissue is not background
    assert stats.signals(row(tissue_fraction=0.0999), b)["background"][0] == pytest.approx(-math.log(0.0999))
    assert stats.signals(row(tissue_fraction=0.2), b)["background"][0] == 0.0
    assert stats.signals(row(tissue_fraction=0.10), b)["background"][0] == 0.0


def test_method_deviation_each_method():
    b = unit_block()
    r = row(mse=math.e ** -4, ssim=1 - math.e ** 0.5, dssim_p99=math.e ** -1, sharpness=math.e ** -2,
            tissue_fraction=0.5)
    assert stats.method_deviation("signals", r, b) == (pytest.approx(2.0), "sharpness", pytest.approx(2.0))
    # combined: |z| of the error statistics, -z of the quality signals: |z(mse)| = 4 decides, reported signed
    assert stats.method_deviation("combined", r, b) == (pytest.approx(4.0), "mse", pytest.approx(-4.0))
    assert stats.method_deviation("one_sided_dssim", r, b) == (0.0, "dssim_p99", pytest.approx(-1.0))
    assert stats.method_deviation("two_sided_log_dssim", r, b) == (pytest.approx(1.0), "dssim_p99",
                                                                    pytest.approx(-1.0))
    assert stats.method_deviation("two_sided_log_ssim", r, b) == (pytest.approx(0.5), "ssim", pytest.approx(0.5))
    # nothing above normal: D = 0 and signals reports high_error's statistic and (negative) deviation
    quiet = row(mse=0.5, ssim=1 - 0.5, mse_p99=0.5, dssim_p99=0.6, sharpness=2.0, stain_p99=0.5)
    d, name, dev = stats.method_deviation("signals", quiet, b)
    assert d == 0.0 and name == "dssim_p99" and dev == pytest.approx(math.log(0.6))
    with pytest.raises(ValueError, match="unknown method"):
        stats.method_deviation("erf", r, b)


# ----------------------------------------------------------------------------------------------- the block

def test_calibration_block_layout_and_method_tables(per_patch, block):
    assert list(block) == ["source", "patches", "quantile_levels", "statistics", "stain_plane", "methods"]
    assert block["patches"] == 300 and list(block["statistics"]) == list(stats.STATISTIC_NAMES)
    assert block["stain_plane"] == PLANE and list(block["methods"]) == list(stats.METHOD_NAMES)
    assert block["statistics"]["stain_p99"]["log_transform"] == "log(x)"
    json.dumps(block, allow_nan=False)
    for m in stats.METHOD_NAMES:
        d = np.array([stats.method_deviation(m, {k: per_patch[k][i] for k in per_patch}, block)[0]
                      for i in range(300)])
        tab = block["methods"][m]
        assert tab["quantiles"] == [float(q) for q in np.quantile(d, stats.QUANTILE_LEVELS)]
        t = float(np.quantile(d, 0.9))
        tail = tab["tail"]
        assert tail["level"] == 0.9 and tail["start"] == pytest.approx(t, rel=1e-15)
        assert tail["start"] == tab["quantiles"][stats.QUANTILE_LEVELS.index(0.9)]
        assert tail["exceedances"] == int((d > t).sum()) == 30
        assert tail["scale"] == pytest.approx(float((d[d > t] - t).mean()), rel=1e-12)


def test_calibration_refuses_49_patches_and_old_blocks(per_patch):
    few = {k: v[:49] for k, v in per_patch.items()}
    with pytest.raises(ValueError, match="at least 50"):
        stats.calibration_block(few, "x", PLANE)
    assert stats.calibration_block({k: v[:50] for k, v in per_patch.items()}, "x", PLANE)["patches"] == 50
    with pytest.raises(ValueError, match="stain_p99"):
        stats.calibration_block({k: v for k, v in per_patch.items() if k != "stain_p99"}, "x", PLANE)
    old = stats.calibration_block(per_patch, "x", PLANE)
    del old["stain_plane"], old["methods"]
    with pytest.raises(ValueError) as e:
        stats.score_patch(row(), old)
    assert str(e.value) == ("calibration block predates scoring v2.1 (no stain_plane, or no stain_plane.od_floor "
                            "0.3: its stain and sharpness tables measure older statistics): recalibrate with "
                            "histoae calibrate")
    first_v2 = stats.calibration_block(per_patch, "x", PLANE)
    del first_v2["stain_plane"]["od_floor"]  # a 1.2.0 card: absolute stain residual, whole-patch sharpness
    with pytest.raises(ValueError, match="od_floor"):
        stats.score_patch(row(), first_v2)


def test_tail_scale_floor():
    values = {k: [1.0] * 60 for k in stats.STATISTIC_NAMES}
    values["ssim"] = [0.5] * 60
    b = stats.calibration_block(values, "constant", PLANE)
    for m in stats.METHOD_NAMES:
        assert b["methods"][m]["tail"]["scale"] == 1e-6 and b["methods"][m]["tail"]["exceedances"] == 0


# ----------------------------------------------------------------------------------------------- the score

def hand_block():
    """Method table: D quantiles linear 0..3 over the levels (so P(D) = D/3 below 3), tail from t = P^-1(0.9)."""
    levels = list(stats.QUANTILE_LEVELS)
    tab = {"quantiles": [3 * lv for lv in levels], "tail": {"level": 0.9, "start": 2.7, "scale": 0.5, "exceedances": 5}}
    b = unit_block()
    b["methods"] = {m: tab for m in stats.METHOD_NAMES}
    return b


def test_exceedance_table_then_exponential_tail():
    b = hand_block()
    assert stats.exceedance(1.5, b) == pytest.approx(0.5)
    assert stats.exceedance(0.0, b) == pytest.approx(1.0) and stats.exceedance(-1, b) == 1.0
    assert stats.exceedance(2.7, b) == pytest.approx(0.1)
    assert stats.exceedance(3.7, b) == pytest.approx(0.1 * math.exp(-2))              # (1 - 0.9) e^{-(D-t)/β}
    assert stats.exceedance(10.0, b) == pytest.approx(0.1 * math.exp(-14.6))          # beyond the table's max
    assert stats.score(3.7, b) == pytest.approx(1 - 0.1 * math.exp(-2))


def test_exceedance_is_continuous_and_monotone(block):
    for m in stats.METHOD_NAMES:
        t = block["methods"][m]["tail"]["start"]
        below, above = stats.exceedance(t, block, m), stats.exceedance(t * (1 + 1e-12) + 1e-15, block, m)
        assert below == pytest.approx(0.1, abs=1e-12) and above == pytest.approx(below, abs=1e-9)
        grid = np.linspace(0, 3 * t + 1, 2000)
        e = np.array([stats.exceedance(d, block, m) for d in grid])
        assert np.all(np.diff(e) <= 1e-15) and e[-1] > 0


def test_threshold_deviation_inverts_score(block):
    for m in stats.METHOD_NAMES:
        # below 0.9 only where the table rises (D = max(0, ...) puts many patches at 0: a plateau)
        low = (0.3, 0.5, 0.85) if m in ("combined", "two_sided_log_ssim", "two_sided_log_dssim") else ()
        for thr in low + (0.9, 0.95, 0.99, 0.999):
            d = stats.threshold_deviation(thr, block, m)
            assert stats.score(d, block, m) == pytest.approx(thr, abs=1e-9), (m, thr)
        assert stats.threshold_deviation(1.0, block, m) == math.inf
    # on the plateau at 0 the threshold deviation is 0 and a D of 0 scores the plateau's middle level
    assert stats.threshold_deviation(0.3, block, "one_sided_dssim") == 0.0
    assert stats.score(0.0, block, "one_sided_dssim") < 0.3
    b = hand_block()
    assert stats.threshold_deviation(0.99, b) == pytest.approx(2.7 + 0.5 * math.log(10))
    assert stats.threshold_deviation(0.5, b) == pytest.approx(1.5)


# ----------------------------------------------------------------------------------------------- results

KEYS = ["statistics", "method", "score", "threshold", "fpr", "threshold_source", "anomalous", "verdict",
        "percentile", "score_statistic", "deviation", "flags", "signals", "percentiles", "deviations", "calibration"]


def test_score_patch_layout_and_normal_patch(block, per_patch):
    median = {k: float(np.median(v)) for k, v in per_patch.items()}
    r = stats.score_patch(median, block)
    assert list(r) == KEYS and list(r["statistics"]) == list(stats.STATISTIC_NAMES)
    assert r["method"] == "signals" and r["threshold"] == 0.99 and r["fpr"] == 1 - 0.99
    assert r["threshold_source"] == "default (fpr 0.01)"
    assert r["verdict"] == "normal" and r["anomalous"] is False and r["flags"] == []
    assert list(r["signals"]) == list(stats.SIGNAL_NAMES)
    assert r["signals"]["background"] == {"deviation": 0.0, "statistic": "tissue_fraction", "flag": False}
    assert r["calibration"] == {"source": "unit test", "patches": 300}
    assert r["deviations"]["mse"] == pytest.approx(stats.deviation(median["mse"], "mse", block))
    assert r["percentiles"]["stain_p99"] == pytest.approx(0.5, abs=0.02)
    d = stats.method_deviation("signals", median, block)[0]
    assert r["score"] == stats.score(d, block) and r["percentile"] == scoring.interpolate(
        d, block["methods"]["signals"]["quantiles"], block["quantile_levels"])
    json.dumps(r, allow_nan=False)
    assert stats.score_patch(median, block, threshold=0.5)["threshold_source"] == "user threshold"
    assert stats.score_patch(median, block, threshold=0.95, threshold_source="user fpr")["threshold_source"] == \
        "user fpr"


def test_flags_verdict_and_thresholds(block, per_patch):
    median = {k: float(np.median(v)) for k, v in per_patch.items()}
    stain = block["statistics"]["stain_p99"]
    ink = dict(median, stain_p99=math.exp(stain["log_mean"] + 6 * stain["log_std"]))   # z(stain) = 6
    r = stats.score_patch(ink, block)
    assert r["verdict"] == "anomalous" and r["anomalous"] and r["flags"] == ["stain"]
    assert r["score_statistic"] == "stain_p99" and r["deviation"] == pytest.approx(6.0)
    assert r["score"] >= 0.99
    # the flag threshold is the signals method's D*, whatever the method scores with
    other = stats.score_patch(ink, block, method="one_sided_dssim")
    assert other["flags"] == ["stain"] and other["verdict"] == "normal" and not other["anomalous"]
    d_signals, d_dssim = (stats.threshold_deviation(0.99, block, m) for m in ("signals", "one_sided_dssim"))
    assert d_dssim < d_signals
    between = dict(median, stain_p99=math.exp(stain["log_mean"] + (d_signals + d_dssim) / 2 * stain["log_std"]))
    assert stats.score_patch(between, block, method="one_sided_dssim")["flags"] == []
    assert stats.score_patch(between, block, threshold=0.95)["flags"] == ["stain"]
    sharp = block["statistics"]["sharpness"]
    blurred = dict(median, sharpness=math.exp(sharp["log_mean"] - 5 * sharp["log_std"]))
    assert stats.score_patch(blurred, block)["flags"] == ["blur"]
    assert stats.score_patch(blurred, block, threshold=1.0)["flags"] == []           # D* = inf
    glass = dict(median, tissue_fraction=0.02)
    g = stats.score_patch(glass, block)
    assert g["verdict"] == "not_tissue" and g["anomalous"] and "background" in g["flags"]
    assert g["signals"]["background"]["flag"] and g["signals"]["background"]["deviation"] > 0
    # low thresholds flag ordinary deviations; the verdict follows score >= threshold
    mild = dict(median, dssim_p99=median["dssim_p99"] * 2.5)                          # z(dssim_p99) = 2.3
    for thr, verdict in ((0.5, "anomalous"), (0.9, "anomalous"), (0.99, "normal"), (0.999, "normal")):
        r = stats.score_patch(mild, block, threshold=thr)
        assert r["verdict"] == verdict and (r["score"] >= thr) == (verdict == "anomalous")
        assert r["flags"] == (["high_error"] if verdict == "anomalous" else []), thr
        assert r["signals"]["high_error"]["statistic"] == "dssim_p99"


def test_score_patch_refuses_bad_input(block, per_patch):
    median = {k: float(np.median(v)) for k, v in per_patch.items()}
    with pytest.raises(ValueError, match="finite"):
        stats.score_patch(dict(median, mse=math.nan), block)
    with pytest.raises(ValueError, match="threshold"):
        stats.score_patch(median, block, threshold=1.5)
    with pytest.raises(ValueError, match="unknown method"):
        stats.score_patch(median, block, method="two_sided")
    with pytest.raises(KeyError):
        stats.score_patch({k: v for k, v in median.items() if k != "stain_p99"}, block)


# ----------------------------------------------------------------------------------------------- the shipped card

def test_default_card_is_calibrated_for_scoring_v2():
    from pathlib import Path

    from histoae_training.export import sha256_file
    root = Path(__file__).resolve().parents[2] / "models" / "default"
    card = json.loads((root / "model.json").read_text())
    assert card["version"] == "1.3.0"
    assert sha256_file(root / card["weights"]["file"]) == card["weights"]["sha256"]
    cal = card["calibration"]
    stats.require_v2(cal)
    assert cal["patches"] == 328 and cal["source"].startswith("validation split of the training data")
    assert list(cal["statistics"]) == list(stats.STATISTIC_NAMES) and len(cal["statistics"]) == 8
    assert list(cal["methods"]) == list(stats.METHOD_NAMES) and len(cal["methods"]) == 5
    plane = cal["stain_plane"]
    assert plane["min_od"] == 0.15 and plane["od_floor"] == 0.3 and plane["pixels"] > 1000
    assert abs(np.linalg.norm(plane["normal"]) - 1) < 1e-12
    for m, tab in cal["methods"].items():
        q = tab["quantiles"]
        assert len(q) == 105 and all(b >= a for a, b in zip(q, q[1:])), m
        assert tab["tail"]["start"] == q[stats.QUANTILE_LEVELS.index(0.9)] and tab["tail"]["level"] == 0.9
        assert tab["tail"]["exceedances"] == 33 and tab["tail"]["scale"] > 0  # sorted D 295..327 lie above 0.9·327 = 294.3
    # a normal-looking patch (every statistic at its median) scores normal with the shipped card
    median = {k: cal["statistics"][k]["quantiles"][stats.QUANTILE_LEVELS.index(0.5)] for k in stats.STATISTIC_NAMES}
    assert stats.score_patch(median, cal)["verdict"] == "normal"


def test_interpolate_survives_a_table_spanning_the_float_range():
    """A hostile card's quantiles may span -max ... max: the percentile stays finite, inside the bracket."""
    big = sys.float_info.max
    q, p = [-big, -big, big, big], [0.0, 0.25, 0.75, 1.0]
    level = scoring.interpolate(1e300, q, p)
    assert math.isfinite(level) and 0.25 <= level <= 0.75
    assert scoring.interpolate(0.0, q, p) == 0.5
