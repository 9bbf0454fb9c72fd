"""Scoring v2 against a live `histoae serve` and the built binary: per-request thresholds (`threshold=` / `fpr=`),
the verdict/signals/calibration fields, the stain map in both map formats, glass as `not_tissue`, and
`histoae calibrate` end to end (refusal below 50 patches; a written model folder that `score` and `serve` use)."""
import base64
import io
import json
import pathlib
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import FIXTURES, ROOT, Server, histoae_binary
from openapi_schemas import validate
from test_api import PNG, png_size, problem

SIGNALS = ["high_error", "stain", "blur", "background"]


def png_bytes(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def glass() -> bytes:
    """A blank-glass patch: near-white (238…250) with a little grey noise, no stain."""
    noise = np.random.default_rng(7).integers(238, 251, size=(150, 150, 1))
    return png_bytes(np.repeat(noise, 3, axis=2))


def score(server, session, auth, body: bytes, query: str = "", path: str = "/v1/score") -> dict:
    response = session.post(server.url + path + query, data=body, headers={**auth, **PNG})
    assert response.status_code == 200, response.text
    result = response.json()
    validate(result, "ScoreResponse" if path == "/v1/score" else "ReconstructResponse")
    return result["patches"][0]


# MARK: the result fields

def test_verdict_signals_and_calibration_fields(server, session, auth, png, png2):
    card = session.get(server.url + "/v1/model", headers=auth).json()
    for body in (png, png2):
        patch = score(server, session, auth, body)
        assert patch["method"] == "signals" and patch["threshold"] == 0.99
        assert patch["threshold_source"] == "default (fpr 0.01)" and abs(patch["fpr"] - 0.01) < 1e-12
        assert patch["verdict"] in ("normal", "anomalous", "not_tissue")
        assert patch["anomalous"] == (patch["verdict"] != "normal")
        assert patch["verdict"] == ("anomalous" if patch["score"] >= patch["threshold"] else "normal")
        assert sorted(patch["signals"]) == sorted(SIGNALS)      # keys sorted, like every key of the answer
        assert patch["flags"] == [s for s in SIGNALS if patch["signals"][s]["flag"]]
        assert patch["signals"]["stain"]["statistic"] == "stain_p99" and "stain_p99" in patch["statistics"]
        assert patch["calibration"] == {"source": card["calibration"]["source"],
                                        "patches": card["calibration"]["patches"]}


def test_blank_glass_is_not_tissue(server, session, auth, glass):
    patch = score(server, session, auth, glass)
    assert patch["verdict"] == "not_tissue" and patch["anomalous"] is True
    assert patch["statistics"]["tissue_fraction"] < 0.10
    assert "background" in patch["flags"] and patch["signals"]["background"]["flag"] is True


# MARK: per-request thresholds

@pytest.mark.parametrize("path", ["/v1/score", "/v1/reconstruct"])
def test_fpr_and_threshold_apply_per_request(server, session, auth, png, path):
    query = "?maps=none&reconstruction=false" if path == "/v1/reconstruct" else ""
    sep = "&" if query else "?"
    default = score(server, session, auth, png, query, path)
    by_fpr = score(server, session, auth, png, query + sep + "fpr=0.5", path)
    by_threshold = score(server, session, auth, png, query + sep + "threshold=0.5", path)
    assert by_fpr["threshold_source"] == "user fpr" and by_threshold["threshold_source"] == "user threshold"
    assert by_fpr["threshold"] == by_threshold["threshold"] == 0.5 and by_fpr["fpr"] == 0.5
    for patch in (by_fpr, by_threshold):
        # The score is the threshold's business only through the verdict: nothing else is recomputed.
        assert patch["score"] == default["score"] and patch["statistics"] == default["statistics"]
        assert patch["verdict"] == ("anomalous" if patch["score"] >= 0.5 else "normal")
    everything = score(server, session, auth, png, query + sep + "threshold=0", path)
    assert everything["verdict"] == "anomalous" and everything["fpr"] == 1
    nothing = score(server, session, auth, png, query + sep + "fpr=0", path)
    assert nothing["verdict"] == "normal" and nothing["threshold"] == 1 and nothing["flags"] == []


@pytest.mark.parametrize("query", ["fpr=0.1&threshold=0.9", "fpr=1.5", "threshold=-0.1", "fpr=nan", "threshold=inf",
                                   "fpr=0x1p-3", "threshold=", "fpr=0.1%20"])
def test_invalid_or_both_thresholds_are_400(server, session, auth, png, query):
    for path in ("/v1/score", "/v1/reconstruct"):
        body = problem(session.post(f"{server.url}{path}?{query}", data=png, headers={**auth, **PNG}), 400)
        if "&" in query:
            assert "threshold" in body["detail"] and "fpr" in body["detail"]


# MARK: the stain map

def test_stain_map_as_png_and_as_array(server, session, auth, png):
    pictures = score(server, session, auth, png, "?reconstruction=false", "/v1/reconstruct")["maps"]
    assert pictures["format"] == "png"
    for key in ("mse_png", "ssim_png", "stain_png"):
        assert png_size(base64.b64decode(pictures[key])) == (150, 150)
    arrays = score(server, session, auth, png, "?maps=array&reconstruction=false", "/v1/reconstruct")["maps"]
    assert arrays["format"] == "array" and len(arrays["stain"]) == 150 * 150
    assert min(arrays["stain"]) >= 0 and max(arrays["stain"]) < 3     # |n · od|, OD of 8-bit pixels ≤ 2.41 a channel
    picture = session.post(server.url + "/v1/reconstruct?image=stain", data=png,
                           headers={**auth, **PNG, "Accept": "image/png"})
    assert picture.status_code == 200 and png_size(picture.content) == (150, 150)


def test_panel_has_five_tiles(server, session, auth, png):
    panel = session.post(server.url + "/v1/reconstruct", data=png, headers={**auth, **PNG, "Accept": "image/png"})
    assert panel.status_code == 200
    width, _ = png_size(panel.content)
    assert width > 5 * 2 * 150   # input, reconstruction and three maps at ×2


# MARK: histoae calibrate

def normal_patches(count: int, folder: pathlib.Path) -> list[pathlib.Path]:
    """`count` distinct tissue patches (≤ 64): the 8 rotations/flips of the training test patches (blank glass
    left out) and of two scoring fixtures."""
    sources = [p for p in sorted((ROOT / "training/tests/data/patches").glob("*/*.png")) if "empty" not in p.name]
    sources += [FIXTURES / "ScoringTests/Fixtures/patch0.png", FIXTURES / "ScoringTests/Fixtures/patch1.png"]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        rgb = np.asarray(Image.open(source).convert("RGB"))
        for k in range(8):
            if len(written) == count:
                return written
            variant = np.rot90(rgb, k % 4)
            path = folder / f"{len(written):03d}.png"
            path.write_bytes(png_bytes(variant[:, ::-1] if k >= 4 else variant))
            written.append(path)
    assert len(written) == count, f"only {len(written)} patches available"
    return written


def histoae(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(histoae_binary()), *args], capture_output=True, text=True, timeout=600)


def test_calibrate_refuses_49_patches_naming_the_minimum(tmp_path):
    normal_patches(49, tmp_path / "in")
    out = tmp_path / "out"
    result = histoae("calibrate", "--model", str(ROOT / "models/default"), "--source", "49 patches",
                     "--output", str(out), str(tmp_path / "in"))
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "at least 50" in lines[0] and "49" in lines[0], result.stderr
    assert not out.exists()


def test_calibrate_writes_a_model_that_score_and_serve_use(tmp_path, session):
    patches = normal_patches(64, tmp_path / "in")
    out = tmp_path / "site-b"
    result = histoae("calibrate", "--model", str(ROOT / "models/default"), "--source", "live test, 64 patches",
                     "--output", str(out), str(tmp_path / "in"))
    assert result.returncode == 0, result.stderr
    assert "expected false-positive rate" in result.stdout and "stain plane" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "model.safetensors"]
    card, original = (json.loads((d / "model.json").read_text()) for d in (out, ROOT / "models/default"))
    assert card["version"].startswith(original["version"].split("+")[0] + "+cal.")
    assert card["calibration"]["patches"] == 64 and card["weights"] == original["weights"]

    def first_record(model: pathlib.Path) -> dict:
        scored = histoae("score", "--model", str(model), str(patches[0]))
        assert scored.returncode == 0, scored.stderr
        return json.loads(scored.stdout.splitlines()[0])
    before, after = first_record(ROOT / "models/default"), first_record(out)
    assert after["calibration"] == {"source": "live test, 64 patches", "patches": 64}
    assert after["model"]["version"] == card["version"] and after["score"] != before["score"]

    server = Server("--model", str(out))
    try:
        served = session.post(server.url + "/v1/score", data=patches[0].read_bytes(), headers=PNG).json()["patches"][0]
        assert served["calibration"]["patches"] == 64 and served["score"] == after["score"]
        assert served["model"]["version"] == card["version"]
    finally:
        assert server.terminate() == 0
