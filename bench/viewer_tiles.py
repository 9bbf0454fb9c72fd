#!/usr/bin/env python3
"""Deep Zoom tile latency of the viewer's slide routes, two `histoae` binaries compared in the same run.

    python3 bench/viewer_tiles.py --baseline OLD_BINARY [--binary .build/release/histoae] [--rounds 3] SLIDE

For each binary: a server with a slide root holding a copy of SLIDE, one scan job of it run to the end, then
every tile of the Deep Zoom pyramid's top four levels fetched by sequential GETs (a view being zoomed and panned),
the binaries alternating by round. Prints ms per tile per round, the medians and baseline / binary. A timing
tool for A/B comparisons of the slide routes (`GET /v1/scans/{id}/slide_files/{level}/{column}_{row}.png`), not
a test.
"""
import argparse
import json
import math
import pathlib
import re
import shutil
import statistics
import tempfile
import time
import urllib.request

import load_test

ROOT = pathlib.Path(__file__).resolve().parent.parent


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return answer.read()


def scanned_server(binary: str, slide_root: pathlib.Path, state: str):
    """A server on `binary` and the URL of a finished scan job of the root's s/slide.svs."""
    process, url = load_test.start_server(binary, "--slide-root", str(slide_root), "--state-dir", state,
                                          "--model", str(ROOT / "models/default"))
    request = urllib.request.Request(url + "/v1/scans", data=json.dumps({"slide": "s/slide.svs"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        job = url + answer.headers["Location"]
    deadline = time.monotonic() + 900
    while (state_now := json.loads(get(job))["state"]) in ("queued", "running"):
        if time.monotonic() > deadline:
            raise SystemExit(f"{binary}: the scan did not finish in 15 minutes")
        time.sleep(0.3)
    if state_now != "succeeded":
        raise SystemExit(f"{binary}: the scan ended {state_now}")
    return process, job


def tile_paths(descriptor: str) -> list:
    """Every tile of the top four levels of the pyramid `descriptor` (a .dzi) describes."""
    number = lambda name: int(re.search(fr'{name}="(\d+)"', descriptor).group(1))
    width, height, size = number("Width"), number("Height"), number("TileSize")
    top = math.ceil(math.log2(max(width, height)))
    paths = []
    for level in range(max(0, top - 3), top + 1):
        scale = 2 ** (top - level)
        columns, rows = math.ceil(math.ceil(width / scale) / size), math.ceil(math.ceil(height / scale) / size)
        paths += [f"/slide_files/{level}/{c}_{r}.png" for c in range(columns) for r in range(rows)]
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("slide", help="a whole-slide image OpenSlide reads")
    parser.add_argument("--binary", default=str(ROOT / ".build/release/histoae"))
    parser.add_argument("--baseline", required=True, help="the histoae binary to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    folder = pathlib.Path(tempfile.mkdtemp(prefix="viewer-tiles-"))
    try:
        (folder / "root/s").mkdir(parents=True)
        shutil.copy(args.slide, folder / "root/s/slide.svs")
        servers = {}
        for name, binary in (("baseline", args.baseline), ("binary", args.binary)):
            servers[name] = scanned_server(binary, folder / "root", str(folder / f"state-{name}"))
        paths = tile_paths(get(servers["binary"][1] + "/slide.dzi").decode())
        print(f"{pathlib.Path(args.slide).name}: {len(paths)} tiles, {load_test.machine_summary(args.binary)}")
        times = {name: [] for name in servers}
        for round_index in range(args.rounds):
            order = ["baseline", "binary"] if round_index % 2 == 0 else ["binary", "baseline"]
            for name in order:
                started = time.perf_counter()
                for path in paths:
                    get(servers[name][1] + path)
                times[name].append((time.perf_counter() - started) / len(paths) * 1000)
        for name, values in times.items():
            print(f"{name}: ms/tile per round {[round(v, 2) for v in values]}, median {statistics.median(values):.2f}")
        print(f"baseline / binary: {statistics.median(times['baseline']) / statistics.median(times['binary']):.2f}×")
        for process, _ in servers.values():
            load_test.stop_server(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
