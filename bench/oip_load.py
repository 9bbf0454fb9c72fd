#!/usr/bin/env python3
"""Open Inference Protocol throughput: Triton's own client against `/v1/score`, on one `histoae serve`.

    swift build -c release && python3 bench/oip_load.py [--clients 32] [--seconds 8] [--rounds 5]

One server (release build, default settings, no API keys, gRPC on a free port when the binary has
`--grpc-port`). In <rounds> alternating rounds (the order of the paths rotates each round; this machine's speed
drifts over minutes, see bench/load_test.py), each path runs <clients> concurrent clients for <seconds>, every
request one 150×150 patch (patch0.png and patch1.png in turn):
  - v1:   bench/load_test.py's lean keep-alive clients POST the PNG to /v1/score;
  - http: <clients> threads, each with its own `tritonclient.http.InferenceServerClient`, infer UINT8 `image`
          [1, 150, 150, 3] as binary tensor data, asking for `score` only (binary);
  - grpc: the same with `tritonclient.grpc` (informational: no check).
Reports images/s per path (median of the rounds), the ratio http / v1 (median of the rounds' ratios; the
check: ≥ 0.9), latency percentiles, and the CPU each request cost the server's non-engine threads and the
clients (which share the machine's cores with the server). Writes a Markdown page (default
bench/oip_results.md) whose every figure comes from this run, and exits 1 if a check fails.
"""
import argparse
import datetime
import inspect
import json
import os
import pathlib
import platform
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import load_test  # noqa: E402  (server start/stop, lean HTTP clients, CPU accounting, machine name)

ROOT = load_test.ROOT
PATHS = ["v1", "http", "grpc"]


def load_test_clients() -> int:
    """bench/load_test.py's default --clients, read from its parser so the two benchmarks load alike."""
    match = re.search(r'"--clients", type=int, default=(\d+)', inspect.getsource(load_test.main))
    if match is None:
        raise SystemExit("cannot find bench/load_test.py's --clients default")
    return int(match.group(1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def triton_clients(kind: str, address: str, model: str, patches: list, clients: int, seconds: float) -> dict:
    """`clients` threads, each with its own tritonclient (`kind` "http" or "grpc") and prebuilt inputs, inferring
    one patch per request (score only) until `seconds` pass; the clock starts once every client is ready."""
    module = __import__(f"tritonclient.{kind}", fromlist=["InferenceServerClient"])
    results = {"ok": 0, "patches": 0, "other": [], "latencies": [], "hung": 0}
    lock, clock = threading.Lock(), {}
    ready = threading.Barrier(clients, action=lambda: clock.update(start=time.monotonic()))

    def client(k: int) -> None:
        connection = module.InferenceServerClient(address, network_timeout=120.0) if kind == "http" \
            else module.InferenceServerClient(address)
        inputs = []
        for pixels in patches:
            tensor = module.InferInput("image", [1, 150, 150, 3], "UINT8")
            if kind == "http":
                tensor.set_data_from_numpy(pixels[None], binary_data=True)
            else:
                tensor.set_data_from_numpy(pixels[None])
            inputs.append([tensor])
        outputs = [module.InferRequestedOutput("score", binary_data=True) if kind == "http"
                   else module.InferRequestedOutput("score")]
        ready.wait(timeout=120)
        stop_at, j, latencies, failures = clock["start"] + seconds, k, [], []
        while time.monotonic() < stop_at:
            sent = time.monotonic()
            try:
                score = connection.infer(model, inputs[j % len(inputs)], outputs=outputs).as_numpy("score")
                if score.shape != (1,):
                    failures.append(f"score shape {score.shape}")
                else:
                    latencies.append(time.monotonic() - sent)
            except Exception as error:           # an answer other than success: counted, the client goes on
                failures.append(str(error)[:200])
            j += 1
        connection.close()
        with lock:
            results["ok"] += len(latencies)
            results["patches"] += len(latencies)
            results["latencies"] += latencies
            results["other"] += failures

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 180)
        results["hung"] += thread.is_alive()
    results["wall"] = time.monotonic() - clock.get("start", time.monotonic())
    return results


def measure(run, pid: int) -> dict:
    """`run()`'s results with the CPU seconds the server's engine workers, its other threads and this process
    (the clients) used meanwhile."""
    server_before, clients_before = load_test.thread_cpu(pid), os.times()
    results = run()
    server_after, clients_after = load_test.thread_cpu(pid), os.times()
    results["cpu_workers"] = server_after[0] - server_before[0]
    results["cpu_other"] = server_after[1] - server_before[1]
    results["cpu_clients"] = (clients_after.user - clients_before.user) + (clients_after.system - clients_before.system)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/histoae"))
    parser.add_argument("--clients", type=int, default=load_test_clients())
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--report", default=str(ROOT / "bench/oip_results.md"))
    args = parser.parse_args()
    binary = pathlib.Path(args.binary)
    if not binary.exists():
        raise SystemExit(f"{binary} not found: run `swift build -c release` first")
    load_before = os.getloadavg()[0]
    pngs = [p.read_bytes() for p in load_test.PATCHES]
    patches = [np.asarray(Image.open(p).convert("RGB")) for p in load_test.PATCHES]
    help_text = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True).stdout
    paths = PATHS if "--grpc-port" in help_text else PATHS[:2]
    grpc_address = f"127.0.0.1:{free_port()}"
    process, url = load_test.start_server(binary, *(["--grpc-port", grpc_address.split(":")[1]]
                                                    if "grpc" in paths else []))
    with urllib.request.urlopen(url + "/v1/model", timeout=30) as answer:
        model = json.load(answer)["name"]
    address = {"http": url.removeprefix("http://"), "grpc": grpc_address}
    bodies = [(png, "image/png", 1) for png in pngs]
    runs = {
        "v1": lambda seconds: load_test.run_clients(url + "/v1/score", bodies, args.clients, seconds),
        "http": lambda seconds: triton_clients("http", address["http"], model, patches, args.clients, seconds),
        "grpc": lambda seconds: triton_clients("grpc", address["grpc"], model, patches, args.clients, seconds),
    }
    for path in paths:                                                  # warm-up
        runs[path](2)
    per_round = {path: [] for path in paths}
    for round_index in range(args.rounds):
        order = paths[round_index % len(paths):] + paths[:round_index % len(paths)]
        for path in order:
            per_round[path].append(measure(lambda: runs[path](args.seconds), process.pid))
        rates = {path: per_round[path][-1]["patches"] / per_round[path][-1]["wall"] for path in paths}
        print(f"round {round_index + 1}/{args.rounds} ({' → '.join(order)}): "
              + ", ".join(f"{path} {rates[path]:.1f} images/s" for path in paths)
              + f"; http / v1 = {rates['http'] / rates['v1']:.2f}", flush=True)
    peak_rss_mb = load_test.peak_rss(process.pid)
    status = load_test.stop_server(process)

    rate = lambda r: r["patches"] / r["wall"]
    medians = {path: statistics.median(rate(r) for r in per_round[path]) for path in paths}
    ratios = [rate(h) / rate(v) for h, v in zip(per_round["http"], per_round["v1"])]
    ratio = statistics.median(ratios)
    grpc_ratios = [rate(g) / rate(v) for g, v in zip(per_round.get("grpc", []), per_round["v1"])]

    def pooled(path: str, key: str) -> float:
        return sum(r[key] for r in per_round[path])

    def ms_per_request(path: str, key: str) -> str:
        return f"{1000 * pooled(path, key) / max(1, pooled(path, 'ok')):.2f}"

    def busy(path: str) -> float:
        return pooled(path, "cpu_workers") / (os.cpu_count() * pooled(path, "wall"))

    def latency(path: str) -> str:
        values = [x for r in per_round[path] for x in r["latencies"]]
        return " / ".join(f"{load_test.percentile(values, q):.0f}" for q in (0.5, 0.9, 0.99))

    errors = {path: [e for r in per_round[path] for e in r["other"]] + (["503"] * int(pooled(path, "503"))
                                                                          if path == "v1" else [])
              for path in paths}
    hung = {path: pooled(path, "hung") for path in paths}
    print(f"http / v1: median {ratio:.2f} of rounds {', '.join(f'{r:.2f}' for r in ratios)}; errors "
          + ", ".join(f"{path} {len(errors[path])}" for path in paths) + f"; exit {status}")
    for path in paths:
        if errors[path]:
            print(f"{path} errors (first 3): {errors[path][:3]}")

    checks = {
        "tritonclient.http images/s ≥ 0.9 × /v1/score's (median of the rounds' ratios)": ratio >= 0.9,
        "every request answered, none hung": all(not errors[p] and hung[p] == 0 for p in paths),
        "server exited 0 on SIGTERM": status == 0,
    }
    names = {"v1": f"`/v1/score`, PNG body ({bodies[0][1]})",
             "http": "`tritonclient.http` infer, UINT8 `image` [1, 150, 150, 3] binary, output `score`",
             "grpc": "`tritonclient.grpc` infer, UINT8 `image` [1, 150, 150, 3], output `score` (informational)"}
    cores = os.cpu_count()
    lines = [
        "# Open Inference Protocol throughput: tritonclient against /v1/score", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {load_test.machine_summary(binary)}, Linux {platform.release()}",
        f"- command: `python3 bench/oip_load.py --clients {args.clients} --seconds {args.seconds:g} "
        f"--rounds {args.rounds}` (binary `{binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary}`)",
        f"- server: defaults (workers = {cores}), no API keys"
        + (", `--grpc-port` on a free port" if "grpc" in paths else "; this binary has no `--grpc-port`: gRPC skipped"),
        f"- load: {args.clients} concurrent clients per path, one patch per request (patch0.png and patch1.png in "
        f"turn), {args.seconds:g} s per path per round, {args.rounds} rounds, path order rotating; clients and "
        f"server share the {cores} cores", "",
        "| path | images/s (median of rounds) | each round | latency p50 / p90 / p99 | server non-engine CPU "
        "per request | client CPU per request | errors |",
        "|---|---:|---|---:|---:|---:|---:|",
        *[f"| {names[p]} | {medians[p]:.1f} | {', '.join(f'{rate(r):.1f}' for r in per_round[p])} | "
          f"{latency(p)} ms | {ms_per_request(p, 'cpu_other')} ms | {ms_per_request(p, 'cpu_clients')} ms | "
          f"{len(errors[p])} |" for p in paths], "",
        f"- ratio tritonclient.http / v1: **{ratio:.2f}×** (median of the rounds' ratios "
        f"{', '.join(f'{r:.2f}' for r in ratios)})",
        *([f"- ratio tritonclient.grpc / v1: {statistics.median(grpc_ratios):.2f}× (rounds "
           f"{', '.join(f'{r:.2f}' for r in grpc_ratios)}; informational)"] if grpc_ratios else []),
        "- engine workers' CPU per image, and their share of the cores while each path ran (below ~90 %, the "
        "engine waited for work or another process took the cores): "
        + ", ".join(f"{p} {ms_per_request(p, 'cpu_workers')} ms, {100 * busy(p):.0f} %" for p in paths),
        f"- load average (1 min) before and after the run: {load_before:.2f}, {os.getloadavg()[0]:.2f}",
        f"- server peak RSS (VmHWM): {peak_rss_mb:.0f} MB", "",
        "Checks:", "", *[f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()], "",
    ]
    pathlib.Path(args.report).write_text("\n".join(lines))
    print("\n".join(f"{'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()))
    raise SystemExit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
