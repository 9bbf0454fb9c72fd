"""The viewer's Slides view in a real headless Chromium: scan jobs started and listed, a finished scan's slide in
Deep Zoom tiles served by HistoAE, the heatmap overlay's opacity, a tile's panel, the GeoJSON download; and the
Deep Zoom and panel routes over HTTP, with API keys too. Helpers and fixtures are test_viewer.py's."""
import io
import re
import time

import pytest
import requests
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import API_KEY, Server
from test_viewer import PANEL_SIZE, console_problems, open_viewer, screenshot, wait
from test_viewer import open_server  # noqa: F401  (a fixture the HTTP test uses)

from test_scan_jobs import CMU, slide_root  # noqa: E402,F401  (the scan-job tests' slide root: cases/cmu.svs)

DZ_TILE = re.compile(r"/slide_files/(\d+)/(\d+)_(\d+)\.png$")


@pytest.fixture(scope="module")
def slide_server(request, tmp_path_factory):
    """Scan jobs on (the slide root of test_scan_jobs.py), no API keys."""
    if not CMU.exists():
        pytest.skip("../shared/data/slides is absent")
    slide_root = request.getfixturevalue("slide_root")   # only now: it copies the slide
    s = Server("--slide-root", str(slide_root), "--state-dir", str(tmp_path_factory.mktemp("viewer-state")),
               "--scan-workers", "1", env={"HISTOAE_API_KEYS": ""})
    yield s
    assert s.terminate() == 0


@pytest.fixture(scope="module")
def finished_scan(slide_server) -> dict:
    """A succeeded scan of cases/cmu.svs, made over HTTP (the browser test starts its own as well)."""
    answer = requests.post(slide_server.url + "/v1/scans", json={"slide": "cases/cmu.svs"}, timeout=30)
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 600
    while (job := requests.get(slide_server.url + answer.headers["Location"], timeout=30).json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["state"] == "succeeded", job
    return job


def test_deep_zoom_routes_serve_the_jobs_slide_with_problems_outside_it(slide_server, finished_scan, open_server):
    base = slide_server.url + finished_scan["links"]["self"]
    dzi = requests.get(base + "/slide.dzi")
    assert dzi.status_code == 200 and dzi.headers["Content-Type"] == "application/xml"
    assert 'Format="png" Overlap="1" TileSize="254"' in dzi.text and '<Size Width="2220" Height="2967"/>' in dzi.text
    # Level 12 is full size: the bottom-right tile stops at the slide's edge (2220 × 2967), overlap on the left/top.
    for path, size in [("12/8_11.png", (189, 174)), ("12/0_0.png", (255, 255)), ("12/1_1.png", (256, 256)),
                       ("11/4_5.png", (1110 - 1015, 1484 - 1269)), ("8/0_0.png", (139, 186)), ("0/0_0.png", (1, 1))]:
        tile = requests.get(f"{base}/slide_files/{path}")
        assert tile.status_code == 200 and tile.headers["Content-Type"] == "image/png", (path, tile.text[:200])
        assert Image.open(io.BytesIO(tile.content)).size == size, path
    for path in ["13/0_0.png", "12/9_0.png", "12/0_12.png", "12/0_0.jpeg", "12/a_0.png", "x/0_0.png"]:
        missing = requests.get(f"{base}/slide_files/{path}")
        assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json", path
    panel = requests.get(base + "/tiles/0/panel.png")
    assert panel.status_code == 200 and Image.open(io.BytesIO(panel.content)).size == PANEL_SIZE
    assert requests.get(base + "/tiles/100000/panel.png").status_code == 404
    unknown = requests.get(f"{slide_server.url}/v1/scans/00000000-0000-4000-8000-000000000000/slide.dzi")
    assert unknown.status_code == 404 and "no scan job" in unknown.json()["detail"]
    # A server without a slide root says so, as the other scan routes do.
    off = requests.get(open_server.url + finished_scan["links"]["self"] + "/slide_files/12/0_0.png")
    assert off.status_code == 404 and "slide root" in off.json()["detail"]


def canvas_view(browser) -> dict:
    return browser.execute_script("""
        const c = document.getElementById('slide-canvas'); const box = c.getBoundingClientRect();
        return {level: Number(c.dataset.level), scale: Number(c.dataset.scale), left: Number(c.dataset.left),
                top: Number(c.dataset.top), pending: Number(c.dataset.tilesPending), width: c.width, height: c.height,
                shownWidth: box.width, shownHeight: box.height};""")


def canvas_pixel(browser, x: int, y: int) -> list:
    return browser.execute_script(
        "return Array.from(document.getElementById('slide-canvas').getContext('2d').getImageData(arguments[0], arguments[1], 1, 1).data);",
        x, y)


def test_a_scan_is_started_opened_zoomed_and_a_tile_shows_its_panel(browser, slide_server, finished_scan):
    from selenium.webdriver.common.action_chains import ActionChains
    open_viewer(browser, slide_server)
    tab = browser.find_element(By.ID, "slides-tab")
    wait(browser, tab.is_displayed, message="the Slides tab")
    tab.click()
    wait(browser, lambda: browser.find_element(By.ID, "slides").is_displayed())
    assert not browser.find_element(By.ID, "patches").is_displayed()

    # A path out of the slide root: the server's 400 detail, word for word.
    field = browser.find_element(By.ID, "scan-slide")
    field.send_keys("../escape.svs", Keys.ENTER)
    alert = browser.find_element(By.ID, "scan-alert")
    wait(browser, alert.is_displayed, message="the refusal")
    refusal = requests.post(slide_server.url + "/v1/scans", json={"slide": "../escape.svs"}).json()
    assert refusal["detail"] in alert.text

    # A real scan, started from the form, polled until it has succeeded.
    field.clear()
    field.send_keys("cases/cmu.svs", Keys.ENTER)
    # The list is redrawn while it polls: read the states in one script, never through held elements.
    states = lambda: browser.execute_script(  # noqa: E731
        "return Array.from(document.querySelectorAll('#scan-rows tr[data-state]'), (row) => row.dataset.state);")
    wait(browser, lambda: len(states()) == 2, message="the new job")
    wait(browser, lambda: states() == ["succeeded", "succeeded"], timeout=600, message="both scans succeeded")
    newest = browser.find_element(By.CSS_SELECTOR, "#scan-rows tr[data-state]")
    assert "98 / 98 tiles" in newest.text
    newest_id = newest.get_attribute("data-id")
    assert newest_id != finished_scan["id"]
    newest.find_element(By.XPATH, ".//button[text()='Open']").click()

    status = browser.find_element(By.ID, "slide-status")
    wait(browser, lambda: "tiles scanned" in status.text, message="the slide opened")
    wait(browser, lambda: canvas_view(browser)["pending"] == 0, message="the first tiles")
    fit = canvas_view(browser)
    for _ in range(3):
        browser.find_element(By.ID, "zoom-in").click()
    wait(browser, lambda: canvas_view(browser)["level"] > fit["level"] and canvas_view(browser)["pending"] == 0,
         message="sharper tiles after zooming in")
    zoomed = canvas_view(browser)
    assert zoomed["scale"] > fit["scale"] * 3

    # The tissue tile nearest the centre of the zoomed view, and where it is on the canvas.
    collection = requests.get(f"{slide_server.url}/v1/scans/{newest_id}/tiles.geojson").json()
    view = canvas_view(browser)
    centre = (view["left"] + view["width"] / 2 / view["scale"], view["top"] + view["height"] / 2 / view["scale"])

    def middle(feature):
        ring = feature["geometry"]["coordinates"][0]
        return ((ring[0][0] + ring[2][0]) / 2, (ring[0][1] + ring[2][1]) / 2)

    tissue = [f for f in collection["features"] if f["properties"]["classification"]["name"] != "not_tissue"]
    chosen = min(tissue, key=lambda f: (middle(f)[0] - centre[0]) ** 2 + (middle(f)[1] - centre[1]) ** 2)
    x, y = ((middle(chosen)[0] - view["left"]) * view["scale"], (middle(chosen)[1] - view["top"]) * view["scale"])
    assert 0 <= x < view["width"] and 0 <= y < view["height"], "the tile nearest the centre is in view"

    # The heatmap's opacity changes what is drawn over that tile.
    slider = browser.find_element(By.ID, "heatmap-opacity")
    slider.send_keys(Keys.HOME)
    assert browser.find_element(By.ID, "heatmap-opacity-value").text == "0 %"
    bare = canvas_pixel(browser, int(x), int(y))
    slider.send_keys(Keys.END)
    assert browser.find_element(By.ID, "heatmap-opacity-value").text == "100 %"
    tinted = canvas_pixel(browser, int(x), int(y))
    assert bare != tinted, (bare, tinted)

    # Click it: its verdict, score and the server's panel of it.
    tile = chosen["properties"]["measurements"]["tile"]
    canvas = browser.find_element(By.ID, "slide-canvas")
    ratio = view["shownWidth"] / view["width"]
    ActionChains(browser).move_to_element_with_offset(
        canvas, int((x - view["width"] / 2) * ratio), int((y - view["height"] / 2) * ratio)).click().perform()
    image = browser.find_element(By.ID, "tile-image")
    wait(browser, lambda: image.is_displayed() and image.get_attribute("data-tile") == str(tile), message="the tile's panel")
    assert (image.get_property("naturalWidth"), image.get_property("naturalHeight")) == PANEL_SIZE
    score = chosen["properties"]["measurements"]["score"]
    assert f"{score:.4f}" in browser.find_element(By.ID, "tile-summary").text
    assert browser.find_element(By.ID, "tile-title").text.startswith(f"Tile {tile} ")

    # The GeoJSON link hands over the scan's tiles.geojson, byte for byte.
    link = browser.find_element(By.ID, "geojson-link")
    assert link.get_attribute("href") == f"{slide_server.url}/v1/scans/{newest_id}/tiles.geojson"
    link.click()
    expected = requests.get(link.get_attribute("href")).content
    wait(browser, lambda: link.get_attribute("data-bytes") == str(len(expected)), message="the GeoJSON download")

    canvas.send_keys(Keys.ARROW_RIGHT)
    wait(browser, lambda: canvas_view(browser)["left"] > view["left"], message="the arrow key pans")
    assert console_problems(browser, allowed_statuses=(400,)) == []
    browser.execute_script("document.getElementById('tile-panel').scrollIntoView()")
    screenshot(browser, "slides-tile-panel")
    # The README's picture: the heatmap at 40 %, the tissue visible under it, the clicked tile outlined in blue.
    slider.send_keys(Keys.HOME, *[Keys.ARROW_RIGHT] * 8)
    assert browser.find_element(By.ID, "heatmap-opacity-value").text == "40 %"
    browser.execute_script("document.getElementById('slide-view').scrollIntoView()")
    screenshot(browser, "slides", docs=True)


def test_the_slide_routes_need_the_key_on_a_keyed_server(slide_root, tmp_path_factory):
    """With API keys, the Deep Zoom and panel routes answer 401 without one, like every scan route."""
    s = Server("--slide-root", str(slide_root), "--state-dir", str(tmp_path_factory.mktemp("keyed-state")),
               "--scan-workers", "1", env={"HISTOAE_API_KEYS": API_KEY})
    try:
        key = {"Authorization": f"Bearer {API_KEY}"}
        assert requests.post(s.url + "/v1/scans", json={"slide": "cases/cmu.svs"}, timeout=30).status_code == 401
        answer = requests.post(s.url + "/v1/scans", json={"slide": "cases/cmu.svs"}, headers=key, timeout=30)
        assert answer.status_code == 202, answer.text
        job = answer.headers["Location"]
        deadline = time.monotonic() + 600
        while requests.get(s.url + job, headers=key, timeout=30).json()["state"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        for path in ("/slide.dzi", "/slide_files/0/0_0.png", "/tiles/0/panel.png"):
            refused = requests.get(s.url + job + path, timeout=30)
            assert refused.status_code == 401 and refused.headers["Content-Type"].startswith("application/problem+json")
            assert requests.get(s.url + job + path, headers=key, timeout=60).status_code == 200, path
    finally:
        assert s.terminate() == 0
