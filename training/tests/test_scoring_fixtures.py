"""The committed scoring-v2 fixtures of Tests/ScoringTests/Fixtures are what the reference computes today
(make_scoring_fixtures.py writes them; the Swift tests compare against them)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import load_file

from histoae_training import stats

FIXTURES = Path(__file__).resolve().parents[2] / "Tests" / "ScoringTests" / "Fixtures"


def _json(name):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"{path} missing: run training/scripts/make_scoring_fixtures.py")
    return json.loads(path.read_text())


def _rgb(name):
    return np.asarray(Image.open(FIXTURES / name).convert("RGB"), dtype=np.uint8)


def test_stain_fixture():
    doc = _json("stain.json")
    assert doc["od_table"] == [float(-np.log10((u + 1) / 256)) for u in range(256)]
    for fit in doc["fits"]:
        rgbs = [_rgb(n) for n in fit["images"]]
        m, n = stats.stain_scatter(rgbs)
        assert fit["scatter"] == m.tolist() and fit["pixels"] == n
        assert fit["normal"] == stats.fit_stain_plane(rgbs)["normal"]
    with pytest.raises(ValueError, match="1000"):
        stats.fit_stain_plane([_rgb(n) for n in doc["too_few"]["images"]])
    maps = load_file(str(FIXTURES / "stain.safetensors"))
    assert len(maps) == sum("map" in c for c in doc["cases"]) == 3
    for c in doc["cases"]:
        normal = doc["normals"][c["normal"]]
        assert c["stain_p99"] == stats.stain_p99(_rgb(c["image"]), normal)
        if "map" in c:
            assert np.array_equal(maps[c["map"]], stats.stain_residual_map(_rgb(c["image"]), normal).astype(np.float32))


def test_calibration_fixture_is_the_block_of_its_values():
    doc = _json("calibration.json")
    block = doc["calibration"]
    assert block == stats.calibration_block(doc["per_patch"], block["source"], block["stain_plane"])
    assert block["stain_plane"]["normal"] == _json("stain.json")["normals"]["fitted"]
    assert doc["digest"] == stats.calibration_digest(block)


def test_score_fixture_results():
    doc = _json("scores.json")
    block = _json(doc["calibration"])["calibration"]
    assert len(doc["cases"]) == 15
    seen = {"verdict": set(), "flags": set(), "branch": set()}
    for case in doc["cases"]:
        for r in case["results"]:
            assert r == stats.score_patch(case["statistics"], block, r["method"], r["threshold"]), case["name"]
            d = stats.method_deviation(r["method"], case["statistics"], block)[0]
            seen["verdict"].add(r["verdict"])
            seen["flags"].update(r["flags"])
            seen["branch"].add("tail" if d > block["methods"][r["method"]]["tail"]["start"] else "table")
    assert seen == {"verdict": {"normal", "anomalous", "not_tissue"},
                    "flags": {"high_error", "stain", "blur", "background"}, "branch": {"tail", "table"}}
    assert {r["threshold_source"] for c in doc["cases"] for r in c["results"]} == {"default (fpr 0.01)",
                                                                                 "user threshold"}
    assert doc["extra"][0]["threshold_source"] == "user fpr" and doc["extra"][1]["threshold"] == 1.0
    for method, q in doc["queries"].items():
        assert q["exceedances"] == [stats.exceedance(d, block, method) for d in q["deviations"]]
        assert q["threshold_deviations"] == [stats.threshold_deviation(t, block, method) for t in q["thresholds"]]


def test_model_card_fixture_is_v2():
    card = _json("model.json")
    stats.require_v2(card["calibration"])
    assert card["calibration"]["patches"] == 72 and len(card["calibration"]["methods"]) == 5
