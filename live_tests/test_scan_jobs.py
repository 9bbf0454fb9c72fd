"""Scan jobs over HTTP against real `histoae serve` processes: POST → 202 + Location, polling until succeeded, the
four results (the GeoJSON checked with the `geojson` package), DELETE cancelling a running job and deleting a
finished one, a corrupt slide as a failed job with one readable line, path escapes refused, API keys, the job
limit, metrics, and restarts (SIGTERM and SIGKILL) that keep finished jobs and mark unfinished ones interrupted.

The slide root is a temporary folder holding copies of ../shared/data/slides/cmu-1-small-region.svs (as
`cases/cmu.svs`) and broken.svs, a link inside it (`inside.svs` → `cases/cmu.svs`) and a link leading out
(`out.svs` → the shared CMU slide). A scan of the CMU slide is 98 tiles; `stride: 30` makes it ~2,400, long
enough to be caught running."""
import csv
import io
import json
import os
import pathlib
import shutil
import signal
import time

import geojson
import pytest
import requests
from PIL import Image

from conftest import API_KEY, ROOT, Server

SLIDES = ROOT.parent / "shared" / "data" / "slides"
CMU = SLIDES / "cmu-1-small-region.svs"
BROKEN = SLIDES / "broken.svs"
RESULTS = {"tiles.csv": "text/csv", "tiles.geojson": "application/geo+json", "heatmap.png": "image/png",
           "summary.json": "application/json"}
LONG = {"stride": 30}   # ~2,400 tiles: minutes, cancelled or interrupted long before the end
AUTH = {"Authorization": f"Bearer {API_KEY}"}

pytestmark = pytest.mark.skipif(not (CMU.exists() and BROKEN.exists()), reason="../shared/data/slides is absent")


@pytest.fixture(scope="module")
def slide_root(tmp_path_factory) -> pathlib.Path:
    # Also for the tests of other modules that take this fixture (their own skip marks may not cover the slides).
    if not (CMU.exists() and BROKEN.exists()):
        pytest.skip("../shared/data/slides is absent")
    root = tmp_path_factory.mktemp("slides")
    (root / "cases").mkdir()
    shutil.copy(CMU, root / "cases" / "cmu.svs")
    shutil.copy(BROKEN, root / "broken.svs")
    os.symlink("cases/cmu.svs", root / "inside.svs")
    os.symlink(CMU, root / "out.svs")
    return root


def start(slide_root: pathlib.Path, state: pathlib.Path, *args: str) -> Server:
    return Server("--slide-root", str(slide_root), "--state-dir", str(state), *args,
                  env={"HISTOAE_API_KEYS": API_KEY})


@pytest.fixture(scope="module")
def scans(slide_root, tmp_path_factory):
    """A server with scan jobs and API keys; two scans at once, at most four jobs queued and running."""
    s = start(slide_root, tmp_path_factory.mktemp("state"), "--scan-workers", "2", "--max-scan-jobs", "4")
    yield s
    assert s.terminate() == 0


def post(server: Server, body, headers=AUTH) -> requests.Response:
    return requests.post(server.url + "/v1/scans", json=body, headers=headers, timeout=30)


def job(server: Server, job_id: str) -> dict:
    answer = requests.get(f"{server.url}/v1/scans/{job_id}", headers=AUTH, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait(server: Server, job_id: str, until, seconds: float = 600) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        current = job(server, job_id)
        if until(current) or time.monotonic() > deadline:
            return current
        time.sleep(0.1)


def finished(current: dict) -> bool:
    return current["state"] not in ("queued", "running")


def problem(answer: requests.Response, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    return answer.json()


@pytest.fixture(scope="module")
def succeeded(scans) -> dict:
    answer = post(scans, {"slide": "cases/cmu.svs", "fpr": 0.05})
    assert answer.status_code == 202, answer.text
    created = answer.json()
    assert answer.headers["Location"] == f"/v1/scans/{created['id']}" == created["links"]["self"]
    assert created["state"] == "queued" and created["slide"] == "cases/cmu.svs"
    assert created["parameters"]["threshold_source"] == "user fpr" and created["parameters"]["stride"] == 150
    done = wait(scans, created["id"], finished)
    assert done["state"] == "succeeded", done
    return done


def test_a_job_runs_to_success(succeeded):
    assert succeeded["progress"] == {"tiles_done": 98, "tiles_total": 98}
    assert sum(succeeded["verdicts"].values()) == 98 and succeeded["error"] is None
    assert succeeded["tiles_per_second"] > 0 and succeeded["started_at"] and succeeded["finished_at"]


def test_the_four_results_stream_with_their_types(scans, succeeded):
    got = {}
    for name, kind in RESULTS.items():
        answer = requests.get(scans.url + succeeded["links"][name.replace(".", "_")], headers=AUTH, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"].split(";")[0] == kind
        assert int(answer.headers["Content-Length"]) == len(answer.content) > 0
        got[name] = answer.content
    summary = json.loads(got["summary.json"])
    assert summary["tiles_scanned"] == 98 and summary["verdicts"] == succeeded["verdicts"]
    assert abs(summary["fpr"] - 0.05) < 1e-9 and summary["slide"]["file"] == "cmu.svs"
    collection = geojson.loads(got["tiles.geojson"].decode())
    assert collection.is_valid, collection.errors()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 98
    assert all(f["geometry"]["type"] == "Polygon" and f["properties"]["objectType"] == "detection"
               for f in collection["features"])
    rows = list(csv.reader(io.StringIO(got["tiles.csv"].decode())))
    assert rows[0][:3] == ["tile", "x", "y"] and len(rows) == 99
    assert Image.open(io.BytesIO(got["heatmap.png"])).format == "PNG"


def test_a_corrupt_slide_is_a_failed_job_with_one_readable_line(scans):
    answer = post(scans, {"slide": "broken.svs"})
    assert answer.status_code == 202, answer.text
    done = wait(scans, answer.json()["id"], finished)
    assert done["state"] == "failed"
    assert done["error"] == "broken.svs: not a whole-slide image OpenSlide 3.4.1 can read (unsupported format or corrupt file)"
    details = problem(requests.get(scans.url + done["links"]["tiles_csv"], headers=AUTH, timeout=30), 409)
    assert details["state"] == "failed"


@pytest.mark.parametrize("slide,status,words", [
    ("/etc/passwd", 400, "relative"), ("../secret.svs", 400, "'..'"), ("cases/../broken.svs", 400, "'..'"),
    ("out.svs", 400, "outside the slide root"), ("none.svs", 404, "no slide"), ("cases", 404, "not a file"),
])
def test_path_escapes_and_missing_slides_are_refused(scans, slide, status, words):
    details = problem(post(scans, {"slide": slide}), status)
    assert words in details["detail"]
    assert str(SLIDES) not in details["detail"], "a problem never names the server's folders"


def test_a_link_that_stays_inside_the_root_is_followed(scans):
    answer = post(scans, {"slide": "inside.svs", "stride": 300})
    assert answer.status_code == 202, answer.text
    assert wait(scans, answer.json()["id"], finished)["state"] == "succeeded"


@pytest.mark.parametrize("body,words", [
    ({"slide": "cases/cmu.svs", "stride": 0}, "stride"), ({"slide": "cases/cmu.svs", "min_tissue": 2}, "min_tissue"),
    ({"slide": "cases/cmu.svs", "slide_mpp": -1}, "slide_mpp"), ({"slide": "cases/cmu.svs", "method": "magic"}, "method"),
    ({"slide": "cases/cmu.svs", "fpr": 0.1, "threshold": 0.9}, "one of them"), ({"slide": "cases/cmu.svs", "fpr": 2}, "fpr"),
    ({"slide": "cases/cmu.svs", "extra": 1}, "unknown field"), ({"stride": 150}, "slide is required"),
    ([1, 2], "JSON object"), ({"slide": "cases/cmu.svs", "stride": "150"}, "stride"),
])
def test_bad_bodies_are_400_naming_the_field(scans, body, words):
    assert words in problem(post(scans, body), 400)["detail"]


def test_body_type_and_size_are_checked(scans):
    answer = requests.post(scans.url + "/v1/scans", data=b"slide=cases/cmu.svs", headers=AUTH, timeout=30)
    problem(answer, 415)
    huge = {"slide": "x" * 70_000}
    problem(post(scans, huge), 413)


def test_api_key_required(scans):
    assert problem(post(scans, {"slide": "cases/cmu.svs"}, headers={}), 401)
    assert problem(requests.get(scans.url + "/v1/scans", timeout=30), 401)
    assert problem(requests.get(scans.url + "/v1/scans", headers={"Authorization": "Bearer wrong"}, timeout=30), 401)


def test_unknown_ids_are_404_and_wrong_methods_405(scans):
    problem(requests.get(scans.url + "/v1/scans/00000000-0000-0000-0000-000000000000", headers=AUTH, timeout=30), 404)
    problem(requests.get(scans.url + "/v1/scans/not-an-id/heatmap.png", headers=AUTH, timeout=30), 404)
    answer = requests.put(scans.url + "/v1/scans/00000000-0000-0000-0000-000000000000", headers=AUTH, timeout=30)
    assert problem(answer, 405) and answer.headers["Allow"] == "GET, DELETE"


def test_delete_cancels_a_running_job_then_deletes_it(scans, slide_root):
    created = post(scans, {"slide": "cases/cmu.svs", **LONG}).json()
    running = wait(scans, created["id"], lambda j: j["progress"]["tiles_done"] > 0 or finished(j))
    assert running["state"] == "running" and running["progress"]["tiles_total"] > 1000
    problem(requests.get(scans.url + running["links"]["summary_json"], headers=AUTH, timeout=30), 409)
    answer = requests.delete(f"{scans.url}/v1/scans/{created['id']}", headers=AUTH, timeout=60)
    assert answer.status_code == 200, answer.text
    cancelled = answer.json()
    assert cancelled["state"] == "cancelled" and cancelled["progress"]["tiles_done"] < cancelled["progress"]["tiles_total"]
    assert job(scans, created["id"])["state"] == "cancelled"
    # A finished job: the second DELETE removes it.
    assert requests.delete(f"{scans.url}/v1/scans/{created['id']}", headers=AUTH, timeout=30).status_code == 204
    problem(requests.get(f"{scans.url}/v1/scans/{created['id']}", headers=AUTH, timeout=30), 404)


def test_list_pages_newest_first(scans, succeeded):
    first = requests.get(scans.url + "/v1/scans?limit=1", headers=AUTH, timeout=30).json()
    assert len(first["scans"]) == 1 and first["next"].startswith("/v1/scans?limit=1&before=")
    everything = requests.get(scans.url + "/v1/scans?limit=200", headers=AUTH, timeout=30).json()
    created = [j["created_at"] for j in everything["scans"]]
    assert created == sorted(created, reverse=True) and succeeded["id"] in [j["id"] for j in everything["scans"]]
    second = requests.get(scans.url + first["next"], headers=AUTH, timeout=30).json()
    assert second["scans"][0]["id"] == everything["scans"][1]["id"]
    problem(requests.get(scans.url + "/v1/scans?limit=0", headers=AUTH, timeout=30), 400)
    problem(requests.get(scans.url + "/v1/scans?page=2", headers=AUTH, timeout=30), 400)


def test_metrics_count_jobs_and_tiles(scans, succeeded):
    text = requests.get(scans.url + "/metrics", timeout=30).text
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
              if line.startswith("histoae_scan_")}
    assert values['histoae_scan_jobs{state="succeeded"}'] >= 1
    assert values['histoae_scan_jobs_finished_total{state="succeeded"}'] >= 1
    assert values["histoae_scan_tiles_total"] >= 98


def test_the_job_limit_answers_429(slide_root, tmp_path):
    s = start(slide_root, tmp_path, "--max-scan-jobs", "1")
    try:
        assert post(s, {"slide": "cases/cmu.svs", **LONG}).status_code == 202
        refused = post(s, {"slide": "cases/cmu.svs"})
        details = problem(refused, 429)
        assert refused.headers["Retry-After"] == "10" and details["limit"] == 1
    finally:
        assert s.terminate() == 0


def test_without_a_slide_root_the_routes_say_so(server, auth):
    details = problem(requests.post(server.url + "/v1/scans", json={"slide": "x.svs"}, headers=auth, timeout=30), 404)
    assert "--slide-root" in details["detail"]
    problem(requests.get(server.url + "/v1/scans", headers=auth, timeout=30), 404)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_a_restart_lists_finished_jobs_and_marks_unfinished_ones_interrupted(slide_root, tmp_path, stop):
    first = start(slide_root, tmp_path)
    done = post(first, {"slide": "cases/cmu.svs", "stride": 300}).json()
    assert wait(first, done["id"], finished)["state"] == "succeeded"
    running = post(first, {"slide": "cases/cmu.svs", **LONG}).json()
    queued = post(first, {"slide": "cases/cmu.svs"}).json()
    wait(first, running["id"], lambda j: j["progress"]["tiles_done"] > 0 or finished(j))
    first.process.send_signal(stop)
    status = first.process.wait(timeout=120)
    assert status == (0 if stop == signal.SIGTERM else -signal.SIGKILL)

    second = start(slide_root, tmp_path)
    try:
        listed = {j["id"]: j for j in requests.get(second.url + "/v1/scans", headers=AUTH, timeout=30).json()["scans"]}
        assert listed[done["id"]]["state"] == "succeeded"
        heatmap = requests.get(second.url + listed[done["id"]]["links"]["heatmap_png"], headers=AUTH, timeout=30)
        assert heatmap.status_code == 200 and heatmap.content[:8] == b"\x89PNG\r\n\x1a\n"
        for unfinished in (running, queued):
            assert listed[unfinished["id"]]["state"] == "interrupted", listed[unfinished["id"]]
            assert "server stopped" in listed[unfinished["id"]]["error"]
        assert not (tmp_path / "scans" / running["id"]).exists(), "partial results are removed"
        # The restarted server takes new jobs.
        again = post(second, {"slide": "cases/cmu.svs", "stride": 300})
        assert again.status_code == 202 and wait(second, again.json()["id"], finished)["state"] == "succeeded"
    finally:
        assert second.terminate() == 0
