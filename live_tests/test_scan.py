"""`histoae scan` on the shared slides (../shared/data/slides), as a user runs it: the four outputs per slide, a
GeoJSON that passes the `geojson` package's validator and has the shape QuPath imports as detections, a table
in `histoae score`'s words, and one clear line with the right exit status for slides it cannot scan.

The binary is `$HISTOAE_BIN` (the release build for measurements: HISTOAE_BIN=.build/release/histoae), else the
debug build, as for the other live tests."""
import csv
import io
import json
import pathlib
import subprocess

import geojson
import pytest
from PIL import Image

from conftest import FIXTURES, ROOT, histoae_binary

SLIDES = ROOT.parent / "shared" / "data" / "slides"
CMU = SLIDES / "cmu-1-small-region.svs"
TCGA = SLIDES / "tcga-cr-7395-01a-01-ts1.svs"
BROKEN = SLIDES / "broken.svs"
OUTPUTS = ["heatmap.png", "summary.json", "tiles.csv", "tiles.geojson"]
VERDICTS = {"normal", "anomalous", "not_tissue"}

pytestmark = pytest.mark.skipif(not all(p.exists() for p in (CMU, TCGA, BROKEN)),
                                reason="../shared/data/slides is absent")


def scan(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(histoae_binary()), "scan", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> dict:
    """cmu-1 with the file's µm/px; the TCGA slide (no MPP tag) at --slide-mpp 1.0, every third tile across and
    down (--stride 450 model pixels) to keep a debug build quick."""
    out = tmp_path_factory.mktemp("scans")
    cmu = scan(str(CMU), "--out", str(out))
    assert cmu.returncode == 0, cmu.stderr
    tcga = scan(str(TCGA), "--slide-mpp", "1.0", "--stride", "450", "--out", str(out))
    assert tcga.returncode == 0, tcga.stderr
    return {"out": out, "cmu": (cmu, out / "cmu-1-small-region"), "tcga": (tcga, out / "tcga-cr-7395-01a-01-ts1")}


@pytest.mark.parametrize("slide", ["cmu", "tcga"])
def test_four_outputs_and_nothing_else(scans, slide):
    result, folder = scans[slide]
    assert sorted(p.name for p in folder.iterdir()) == OUTPUTS
    assert result.stdout.strip() == str(folder)
    # A pipe gets no progress bar: one summary line, no carriage returns or escape sequences.
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and " tiles in " in result.stderr
    heatmap = Image.open(folder / "heatmap.png")
    assert heatmap.format == "PNG" and heatmap.width >= 640


@pytest.mark.parametrize("slide", ["cmu", "tcga"])
def test_geojson_is_valid_and_has_qupaths_shape(scans, slide):
    _, folder = scans[slide]
    text = (folder / "tiles.geojson").read_text()
    collection = geojson.loads(text)
    assert collection.is_valid, collection.errors()
    assert collection["type"] == "FeatureCollection"
    summary = json.loads((folder / "summary.json").read_text())
    width, height = summary["slide"]["width"], summary["slide"]["height"]
    features = collection["features"]
    assert len(features) == summary["tiles_scanned"] > 0
    side = summary["scan"]["tile_side"]
    for feature in features:
        assert feature["geometry"]["type"] == "Polygon"
        (ring,) = feature["geometry"]["coordinates"]
        assert len(ring) == 5 and ring[0] == ring[-1]
        (x0, y0), (x1, _), (_, y2) = ring[0], ring[1], ring[2]
        assert (x1 - x0, y2 - y0) == (side, side), "squares of the tile side, in level-0 pixels"
        assert all(0 <= x <= width and 0 <= y <= height for x, y in ring)
        properties = feature["properties"]
        assert properties["objectType"] == "detection"
        assert properties["classification"]["name"] in VERDICTS
        color = properties["classification"]["color"]
        assert len(color) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in color)
        measurements = properties["measurements"]
        assert all(isinstance(v, (int, float)) for v in measurements.values())
        assert {"score", "mse", "ssim", "tissue_fraction", "sharpness", "stain_p99"} <= measurements.keys()
    identity = collection["properties"]
    assert identity["model"]["weights_sha256"] == summary["model"]["weights_sha256"]
    assert identity["calibration"]["patches"] == summary["calibration"]["patches"]


def test_table_speaks_score_csvs_words(scans, tmp_path):
    _, folder = scans["cmu"]
    rows = list(csv.reader(io.StringIO((folder / "tiles.csv").read_text())))
    header, body = rows[0], rows[1:]
    summary = json.loads((folder / "summary.json").read_text())
    assert len(body) == summary["tiles_scanned"] and all(len(r) == len(header) for r in body)
    assert header[:8] == ["tile", "x", "y", "width", "height", "column", "row", "mask_tissue"]
    score = subprocess.run([str(histoae_binary()), "score", "--format", "csv",
                            str(FIXTURES / "ScoringTests/Fixtures/patch0.png")], capture_output=True, text=True)
    assert score.returncode == 0, score.stderr
    score_header = score.stdout.splitlines()[0].split(",")
    assert score_header[:2] == ["path", "error"] and header[8:] == score_header[2:]
    verdicts = {name: sum(1 for r in body if r[header.index("verdict")] == name) for name in VERDICTS}
    assert verdicts == summary["verdicts"]


def test_summary_describes_slide_and_scan(scans):
    cmu = json.loads((scans["cmu"][1] / "summary.json").read_text())
    assert cmu["slide"]["vendor"] == "aperio" and cmu["slide"]["mpp_source"] == "file"
    assert (cmu["slide"]["width"], cmu["slide"]["height"]) == (2220, 2967)
    assert cmu["scan"]["level"] == 0 and not cmu["scan"]["resized"] and cmu["scan"]["tile_side"] == 150
    assert 0 < len(cmu["most_anomalous"]) <= 10 and cmu["threshold"] == 0.99
    tcga = json.loads((scans["tcga"][1] / "summary.json").read_text())
    assert tcga["slide"]["mpp_source"] == "given" and tcga["slide"]["mpp"] == 1.0 and tcga["slide"]["mpp_x"] is None
    assert tcga["scan"]["resized"] and tcga["scan"]["tile_side"] == 75


def test_unscannable_slides_one_line_each(tmp_path):
    broken = scan(str(BROKEN), "--out", str(tmp_path))
    assert broken.returncode == 1
    lines = broken.stderr.strip().splitlines()
    assert lines[0] == "broken.svs: not a whole-slide image OpenSlide 3.4.1 can read (unsupported format or corrupt file)"
    assert "Error: no slide could be scanned" in lines[-1] and len(lines) == 2
    no_mpp = scan(str(TCGA), "--out", str(tmp_path))
    assert no_mpp.returncode == 1 and "--slide-mpp" in no_mpp.stderr.splitlines()[0]
    assert not any(tmp_path.iterdir()), "nothing is written for a slide that cannot be scanned"


def test_some_slides_failed_exit_2(tmp_path):
    result = scan(str(CMU), str(BROKEN), "--min-tissue", "0.9", "--out", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert (tmp_path / "cmu-1-small-region" / "tiles.geojson").exists()
    assert any(line.startswith("broken.svs: ") for line in result.stderr.splitlines())


@pytest.mark.parametrize("args", [["--stride", "0"], ["--min-tissue", "2"], ["--slide-mpp", "-1"],
                                  ["--format", "xlsx"], ["--threshold", "0.9", "--fpr", "0.1"], []])
def test_wrong_arguments_exit_64(tmp_path, args):
    slides = [] if not args else [str(CMU)]
    result = scan(*args, *slides, "--out", str(tmp_path))
    assert result.returncode == 64, result.stderr
    assert not any(tmp_path.iterdir())
