#!/usr/bin/env python3
"""Patch latency and scan speed when a scan job shares the engine with patch requests, on `histoae serve`.

    swift build -c release && python3 bench/scan_load.py [--clients 4] [--rate 10] [--seconds 15] [--rounds 3]

One server (release build, default settings, a temporary --slide-root holding a copy of
../shared/data/slides/cmu-1-small-region.svs and a temporary --state-dir). Each round, in this order:
  1. no scan: paced patch load — <clients> keep-alive clients sending single-patch PNG requests to /v1/score
     at <rate> requests/s in all (the engine mostly idle) — then saturating patch load (<clients> clients, each
     sending its next request as soon as the last is answered: bench/load_test.py's clients), <seconds> each;
  2. a scan job of the CMU slide at `stride` <stride> (a few thousand tiles, longer than the windows below) is
     started and, once running: a window with no patch load, then the paced load, then the saturating load,
     <seconds> each; the scan's tiles/s in each window is read from the job's progress (GET /v1/scans/{id})
     at the window's start and end; then the job is cancelled (DELETE).
Latency percentiles pool every round's requests; tiles/s is the median of the rounds. The time a FIFO queue
would make a patch wait behind the scan's queued tiles (requests in flight × tiles per request ÷ tiles/s
alone) is reported beside the latency. Writes a Markdown page (default bench/scan_results.md) whose every
figure comes from this run, and exits 1 if a check fails.
"""
import argparse
import datetime
import json
import pathlib
import platform
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import load_test  # noqa: E402  (server start/stop, saturating clients, machine name)

ROOT = load_test.ROOT
CMU = ROOT.parent / "shared" / "data" / "slides" / "cmu-1-small-region.svs"
# The scan's engine requests in flight × tiles per request (SlideScanning's ScanSettings defaults).
SCAN_QUEUED_TILES = 3 * 16


def paced_failures(paced: dict) -> list:
    """Every answer of load_test.run_paced that was not 200: its status per request, "error" per failed one."""
    return [status for status, n in paced["other"].items() for _ in range(n)] + ["error"] * paced["errors"]


def api(url: str, method: str = "GET", body: dict | None = None) -> dict | None:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=120) as answer:
        text = answer.read()
        return json.loads(text) if text else None


def tiles_done(base: str, job_id: str) -> tuple:
    job = api(f"{base}/v1/scans/{job_id}")
    return job["progress"]["tiles_done"], time.monotonic(), job["state"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/histoae"))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10, help="paced load, requests/s over all clients")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stride", type=int, default=30)
    parser.add_argument("--report", default=str(ROOT / "bench/scan_results.md"))
    args = parser.parse_args()
    binary = pathlib.Path(args.binary)
    if not binary.exists():
        raise SystemExit(f"{binary} not found: run `swift build -c release` first")
    if not CMU.exists():
        raise SystemExit(f"{CMU} not found")
    pngs = [p.read_bytes() for p in load_test.PATCHES]
    work = pathlib.Path(tempfile.mkdtemp(prefix="scan-load-"))
    (work / "slides").mkdir()
    shutil.copy(CMU, work / "slides" / "cmu.svs")
    process, base = load_test.start_server(binary, "--slide-root", str(work / "slides"), "--state-dir", str(work / "state"))
    score = base + "/v1/score"
    bodies = [(png, "image/png", 1) for png in pngs]
    load_test.run_clients(score, bodies, args.clients, 2)   # warm-up

    lat = {key: [] for key in ("paced_idle", "paced_scan", "saturated_idle", "saturated_scan")}
    rates = {key: [] for key in ("alone", "paced", "saturated")}
    saturated_throughput = {"idle": [], "scan": []}
    errors, tiles_total = [], None
    for round_index in range(args.rounds):
        paced = load_test.run_paced(score, bodies, args.rate, args.clients, args.seconds)
        lat["paced_idle"] += paced["latencies"]
        errors += paced_failures(paced)
        saturated = load_test.run_clients(score, [(png, "image/png", 1) for png in pngs], args.clients, args.seconds)
        lat["saturated_idle"] += saturated["latencies"]
        saturated_throughput["idle"].append(saturated["patches"] / saturated["wall"])
        errors += saturated["other"] + ["503"] * saturated["503"]

        job = api(base + "/v1/scans", "POST", {"slide": "cmu.svs", "stride": args.stride})
        while True:
            done, _, state = tiles_done(base, job["id"])
            if done > 0 or state not in ("queued", "running"):
                break
            time.sleep(0.05)
        if state != "running":
            raise SystemExit(f"the scan job is {state} before the measurement: {api(base + '/v1/scans/' + job['id'])}")
        windows = {}
        for name in ("alone", "paced", "saturated"):
            first = tiles_done(base, job["id"])
            if name == "alone":
                time.sleep(args.seconds)
            elif name == "paced":
                paced = load_test.run_paced(score, bodies, args.rate, args.clients, args.seconds)
                lat["paced_scan"] += paced["latencies"]
                errors += paced_failures(paced)
            else:
                saturated = load_test.run_clients(score, [(png, "image/png", 1) for png in pngs], args.clients,
                                                  args.seconds)
                lat["saturated_scan"] += saturated["latencies"]
                saturated_throughput["scan"].append(saturated["patches"] / saturated["wall"])
                errors += saturated["other"] + ["503"] * saturated["503"]
            last = tiles_done(base, job["id"])
            if last[2] != "running":
                raise SystemExit(f"the scan job ended ({last[2]}) inside the {name} window: use a smaller --stride")
            windows[name] = (last[0] - first[0]) / (last[1] - first[1])
            rates[name].append(windows[name])
        tiles_total = api(f"{base}/v1/scans/{job['id']}")["progress"]["tiles_total"]
        cancelled = api(f"{base}/v1/scans/{job['id']}", "DELETE")
        print(f"round {round_index + 1}/{args.rounds}: scan tiles/s alone {windows['alone']:.1f}, under paced load "
              f"{windows['paced']:.1f}, under saturating load {windows['saturated']:.1f} (job {cancelled['state']})",
              flush=True)
    peak_rss_mb = load_test.peak_rss(process.pid)
    status = load_test.stop_server(process)
    shutil.rmtree(work, ignore_errors=True)

    p = {key: (load_test.percentile(values, 0.5), load_test.percentile(values, 0.99), len(values)) for key, values in lat.items()}
    rate = {key: statistics.median(values) for key, values in rates.items()}
    fifo_ms = SCAN_QUEUED_TILES / rate["alone"] * 1000
    checks = {
        "every patch request answered 200 (no 503, no error)": not errors,
        f"paced patch p99 with a scan running is below a FIFO queue's wait behind the scan's {SCAN_QUEUED_TILES} "
        f"queued tiles ({fifo_ms:.0f} ms)": p["paced_scan"][1] < fifo_ms,
        "the scan keeps going under paced patch load": rate["paced"] > 0,
        "the scan keeps going under saturating patch load": rate["saturated"] > 0,
        "server exited 0 on SIGTERM (scan jobs stopped first)": status == 0,
    }
    command = (f"python3 bench/scan_load.py --clients {args.clients} --rate {args.rate:g} --seconds {args.seconds:g} "
               f"--rounds {args.rounds} --stride {args.stride}")
    row = lambda key, label: (f"| {label} | {p[key][0]:.1f} | {p[key][1]:.1f} | {p[key][2]} |")
    lines = [
        "# Patch latency and scan speed with a scan job running", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {load_test.machine_summary(binary)}, Linux {platform.release()}",
        f"- command: `{command}` (release build)",
        f"- server: `histoae serve` defaults (workers = cores, queue 512), `--slide-root` with a copy of "
        f"cmu-1-small-region.svs; scan job `{{\"slide\": \"cmu.svs\", \"stride\": {args.stride}}}` "
        f"({tiles_total} tiles; cancelled after each round's windows); {args.rounds} rounds of {args.seconds:g}-s windows",
        f"- patch load: {args.clients} keep-alive clients of single-patch PNG `/v1/score` requests on the same machine, "
        f"paced (at {args.rate:g} requests/s in all) or saturating (each client's next request as soon as its last "
        "is answered)", "",
        "Patch latency (every round's requests pooled):", "",
        "| patch load | p50 ms | p99 ms | requests |", "|---|---:|---:|---:|",
        row("paced_idle", f"paced, {args.rate:g}/s, no scan"),
        row("paced_scan", f"paced, {args.rate:g}/s, scan running"),
        row("saturated_idle", f"saturating, {args.clients} clients, no scan"),
        row("saturated_scan", f"saturating, {args.clients} clients, scan running"), "",
        f"A FIFO queue shared with the scan would make each patch wait behind its {SCAN_QUEUED_TILES} queued tiles: "
        f"{SCAN_QUEUED_TILES} ÷ {rate['alone']:.1f} tiles/s = {fifo_ms:.0f} ms.", "",
        "Scan speed (tiles/s from the job's progress over each window; median of rounds, then each round):", "",
        "| patch load during the window | tiles/s | each round |", "|---|---:|---|",
        f"| none | {rate['alone']:.1f} | {', '.join(f'{v:.1f}' for v in rates['alone'])} |",
        f"| paced, {args.rate:g} requests/s | {rate['paced']:.1f} | {', '.join(f'{v:.1f}' for v in rates['paced'])} |",
        f"| saturating, {args.clients} clients | {rate['saturated']:.1f} | "
        f"{', '.join(f'{v:.1f}' for v in rates['saturated'])} |", "",
        f"Saturating patch throughput (patches/s, median of rounds): {statistics.median(saturated_throughput['idle']):.1f} "
        f"without a scan, {statistics.median(saturated_throughput['scan']):.1f} with one. Server peak RSS (VmHWM): "
        f"{peak_rss_mb:.0f} MB.", "",
        "Interactive patches are taken before a scan's tiles (`SubmissionPriority`), except that one tile goes after "
        "every 8 patches while both wait (`PatchQueues.interactiveRun`): a patch waits at most for the passes "
        "already running and one tile's, and a scan still advances, at about 1/9 of the passes, under a load that "
        "keeps every worker busy.", "",
        "Checks:", "", *[f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()], "",
    ]
    pathlib.Path(args.report).write_text("\n".join(lines))
    print("\n".join(lines))
    raise SystemExit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
