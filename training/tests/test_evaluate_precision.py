"""The bf16-against-fp32 comparison (training/scripts/evaluate_precision.py): drift figures, verdict changes per
set and overall, AUROC deltas, and the issue's PASS/FAIL lines, on hand-made score records."""

import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "training" / "scripts"
sys.path.insert(0, str(SCRIPTS))

import evaluate_precision as ep  # noqa: E402


def rec(score, verdict="normal", **stats):
    return {"score": score, "verdict": verdict, "anomalous": verdict == "anomalous",
            "statistics": {"mse": 0.001, **stats}}


def result(aurocs: dict, fpr=0.01):
    return {"fpr_normal": fpr, "kinds": {k: {"auroc": v} for k, v in aurocs.items()}}


def test_drift_max_p99_mean():
    a = np.zeros(100)
    b = np.concatenate([np.full(98, 0.001), [-0.5, 0.02]])  # |Δ|: 98 × 0.001, 0.5, 0.02
    d = ep.drift(a, b)
    assert d["n"] == 100 and d["max"] == pytest.approx(0.5)
    assert d["mean"] == pytest.approx((98 * 0.001 + 0.52) / 100)
    assert d["p99"] == pytest.approx(np.percentile(np.abs(b), 99))
    assert 0.02 < d["p99"] < 0.5  # between the two largest: interpolated
    assert ep.drift(np.ones((2, 3)), np.ones((2, 3))) == {"n": 6, "max": 0.0, "p99": 0.0, "mean": 0.0}
    assert ep.drift([], [])["max"] is None


def test_verdict_of_prefers_verdict_then_anomalous():
    assert ep.verdict_of({"verdict": "not_tissue", "anomalous": False}) == "not_tissue"
    assert ep.verdict_of({"anomalous": True}) == "anomalous"
    assert ep.verdict_of({"anomalous": False}) == "normal"


def test_verdict_changes_per_set_and_overall_with_directions():
    names = {"normal": ["n0", "n1", "n2", "n3"], "pen": ["p0", "p1"], "empty": []}
    fp = {"n0": rec(0.1), "n1": rec(0.995, "anomalous"), "n2": rec(0.5), "n3": rec(0.2, "not_tissue"),
          "p0": rec(0.999, "anomalous"), "p1": rec(0.98)}
    bf = {**fp, "n1": rec(0.985), "p1": rec(0.991, "anomalous"), "n3": rec(0.2, "not_tissue")}
    got = ep.verdict_changes(names, fp, bf)
    assert got["sets"]["normal"] == {"n": 4, "changed": 1, "fraction": 0.25, "transitions": {"anomalous→normal": 1}}
    assert got["sets"]["pen"] == {"n": 2, "changed": 1, "fraction": 0.5, "transitions": {"normal→anomalous": 1}}
    assert got["sets"]["empty"] == {"n": 0, "changed": 0, "fraction": None, "transitions": {}}
    assert got["all"]["n"] == 6 and got["all"]["changed"] == 2 and got["all"]["fraction"] == pytest.approx(2 / 6)
    # a score that moves without crossing the threshold is no change; normal → not_tissue is one (neither flags)
    assert ep.verdict_changes({"normal": ["n0"]}, fp, {"n0": rec(0.1, "not_tissue")})["all"]["transitions"] == \
        {"normal→not_tissue": 1}
    assert ep.verdict_changes({"normal": ["n2"]}, fp, {"n2": rec(0.6)})["all"]["changed"] == 0


def test_auroc_deltas_and_fpr():
    fp = {"m": result({"pen": 0.95, "blur": 0.80, "none": None}, fpr=0.010)}
    bf = {"m": result({"pen": 0.953, "blur": 0.79, "none": None}, fpr=0.013)}
    got = ep.auroc_deltas(fp, bf)["m"]
    assert got["pen"]["delta"] == pytest.approx(0.003)
    assert got["blur"]["delta"] == pytest.approx(-0.01)
    assert got["none"]["delta"] is None
    assert got["fpr_normal"] == {"fp32": 0.010, "bf16": 0.013, "delta": pytest.approx(0.003)}


def test_checks_pass_and_fail_at_the_tolerances():
    def cmp(delta_blur, changed, n=1000):
        fp = {"m": result({"pen": 0.95, "blur": 0.80})}
        bf = {"m": result({"pen": 0.95, "blur": 0.80 + delta_blur})}
        return {"auroc": ep.auroc_deltas(fp, bf),
                "verdicts": {"m": {"all": {"n": n, "changed": changed, "fraction": changed / n}}}}
    ok = ep.checks(cmp(-0.004, 5), 0.005, 0.005)
    assert [v for _, v, _ in ok] == [True, True]
    assert "0.0040 (`blur`)" in ok[0][2] and "5 of 1000 = 0.50%" in ok[1][2]
    edge = cmp(-0.005, 5)  # exactly at both tolerances (the AUROC one as the float subtraction gives it)
    assert [v for _, v, _ in ep.checks(edge, abs(edge["auroc"]["m"]["blur"]["delta"]), 0.005)] == [True, True]
    bad = ep.checks(cmp(-0.006, 6), 0.005, 0.005)
    assert [v for _, v, _ in bad] == [False, False]
    assert "0.0060 (`blur`)" in bad[0][2]
    # the normal FPR is reported, not an AUROC: a large FPR move alone does not fail the AUROC line
    c = cmp(0.0, 0)
    c["auroc"]["m"]["fpr_normal"]["delta"] = 0.5
    assert ep.checks(c, 0.005, 0.005)[0][1] is True
    assert ep.checks(c, 0.005, 0.005)[0][2] == "max |Δ| 0.0000"  # no kind named when nothing moved


def test_compare_scores_statistics_and_verdicts():
    names = {"normal": ["a", "b"], "pen": ["c"]}
    fp = {"m": {"a": rec(0.1, mse=0.001), "b": rec(0.2, mse=0.002), "c": rec(0.999, "anomalous", mse=0.01)}}
    bf = {"m": {"a": rec(0.1, mse=0.001), "b": rec(0.23, mse=0.0021), "c": rec(0.98, mse=0.0098)}}
    res = {p: {"m": result({"pen": 1.0})} for p in ep.PRECISIONS}
    got = ep.compare(names, {"fp32": fp, "bf16": bf}, res)
    assert got["score"]["m"]["max"] == pytest.approx(0.03)
    assert got["score"]["m"]["mean"] == pytest.approx((0 + 0.03 + 0.019) / 3)
    assert got["statistics"]["mse"]["max"] == pytest.approx(0.0002)
    assert got["verdicts"]["m"]["sets"]["pen"]["transitions"] == {"anomalous→normal": 1}
    assert got["auroc"]["m"]["pen"]["delta"] == 0.0
    assert got["largest_move"]["m"] == {"name": "b", "fp32": 0.2, "bf16": 0.23}
    assert got["changed"]["m"] == [{"name": "c", "set": "pen", "fp32": 0.999, "bf16": 0.98,
                                    "from": "anomalous", "to": "normal"}]


def test_method_summary_names_failures_and_the_default():
    lines = [("`a`: AUROC", True, ""), ("`a`: verdict", True, ""), ("`b`: AUROC", False, ""), ("`b`: verdict", True, "")]
    s = ep.method_summary(lines, ["a", "b"], "a")
    assert "does not hold" in s and "`b`" in s and "holds for `a`" in s and "(`a`) passes" in s
    assert "(`b`) fails" in ep.method_summary(lines, ["a", "b"], "b")
    assert "(`c`) was not evaluated" in ep.method_summary(lines, ["a", "b"], "c")
    assert "every method" in ep.method_summary(lines[:2], ["a"], "a")


def test_block_drift_per_block_with_scale(tmp_path):
    fp_dir, bf_dir = tmp_path / "fp32", tmp_path / "bf16"
    fp_dir.mkdir()
    bf_dir.mkdir()
    rng = np.random.default_rng(0)
    for k, name in enumerate(ep.BLOCKS):
        a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
        np.save(fp_dir / f"{name}.npy", a)
        np.save(bf_dir / f"{name}.npy", a + np.float32(0.001 * k))  # block k drifts by exactly 0.001·k (to rounding)
    rows = ep.block_drift(fp_dir, bf_dir)
    assert [r["block"] for r in rows] == ep.BLOCKS
    for k, r in enumerate(rows):
        assert r["shape"] == [2, 3, 4, 5] and r["n"] == 120
        assert r["max"] == pytest.approx(0.001 * k, abs=1e-6) and r["mean"] == pytest.approx(0.001 * k, abs=1e-6)
        assert r["scale"] == pytest.approx(float(np.abs(np.load(fp_dir / f"{r['block']}.npy")).max()))
    table = ep.block_table(rows)
    assert table[0].startswith("Per block (`histoae reconstruct --blocks`, the first 2 patches")
    assert sum(line.startswith("| `") for line in table) == len(ep.BLOCKS)
    assert ep.block_table([]) == ["Per block: not measured in this run (`--block-sample 0`)."]
    np.save(bf_dir / "head.npy", np.zeros((1, 3, 4, 5), np.float32))
    with pytest.raises(RuntimeError, match="head: fp32 shape"):
        ep.block_drift(fp_dir, bf_dir)
