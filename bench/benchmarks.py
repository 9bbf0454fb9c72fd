#!/usr/bin/env python3
"""The benchmark of record: one command, writes docs/benchmarks.md.

    swift build -c release && python3 bench/benchmarks.py [--threads 2] [--seconds 4] [--rounds 3]

1. The machine's practical GEMM peak: `histoae bench --sgemm 2048` (OpenBLAS sgemm, 2048³) at 1 and T threads.
2. bench/compare_onnx.py at T threads (batches 1, 4, 8, 16) and at 1 thread (batches 1, 4): the reference
   module exported to ONNX with the same weights; ONNX Runtime, PyTorch, OpenVINO (fp32 and bf16) and
   `histoae bench` (fp32 and bf16) alternating in one run.
3. Peak RSS of each engine at its best batch, each in its own process (os.wait4 → ru_maxrss).
4. docs/benchmarks.md: images/s, ms/image at batch 1, GFLOP/s, % of the sgemm peak, peak RSS, ratios to ONNX
   Runtime, throughput against batch size and against thread count, HistoAE and OpenVINO per precision (the CPU,
   the bf16 paths that ran, HistoAE/OpenVINO ratios, drift from PyTorch), and the service's figures from
   bench/load_results.md (bench/load_test.py).
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import openvino_peer  # noqa: E402
from openvino_peer import OV_ENGINE, SWIFT_ENGINE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
GFLOP = 4.26
ENGINES = ["ONNX Runtime", "PyTorch", *SWIFT_ENGINE.values(), *OV_ENGINE.values()]


def sgemm_peak(binary, threads, seconds):
    out = subprocess.run([str(binary), "bench", "--sgemm", "2048", "--workers", str(threads), "--seconds", str(seconds)],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"([0-9.]+) GFLOP/s", out).group(1))


def compare(threads, batches, args, onnx, json_path):
    cmd = [sys.executable, str(BENCH / "compare_onnx.py"), "--threads", str(threads), "--batches", batches,
           "--seconds", str(args.seconds), "--rounds", str(args.rounds), "--onnx", str(onnx), "--json", str(json_path),
           "--out", str(json_path.with_suffix(".md")), "--bin", str(args.bin)]
    cmd += ["--quiet-wait", str(args.quiet_wait)] if args.quiet_wait is not None else []
    subprocess.run(cmd, check=True)
    return json.loads(json_path.read_text())


def peak_rss_mb(cmd):
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"{cmd[0]} exited with status {status}")
    return usage.ru_maxrss / 1024


def medians(run):
    return {e: {int(b): statistics.median(v) for b, v in per.items()} for e, per in run["results"].items()}


def service_section(load=BENCH / "load_results.md"):
    """The "## The service" section: `load`'s table (bench/load_results.md, or another machine's report), or nothing
    before a load test has run."""
    if not load.exists():
        return []
    report = load.read_text().splitlines()
    start = next(i for i, l in enumerate(report) if l.startswith("|"))
    end = next((i for i in range(start, len(report)) if not report[i].startswith("|")), len(report))
    command = next((l for l in report if l.startswith("- command:")), "- command: `python3 bench/load_test.py`")
    command = command.replace(" (release build)", "")
    return ["", "## The service (bench/load_test.py)", "",
            f"From the last load test ({display(load)}, release build, same machine{command[len('- command'):]}); "
            "its throughput is compared with `histoae bench` in alternating rounds of that run:", "",
            *report[start:end]]


def display(path):
    """`path` relative to the repository where it lies inside it (the reports name files as a reader finds them)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def refresh_service_section(path, load):
    """Replaces only the service section of an existing report (after a new `bench/load_test.py` run)."""
    lines = path.read_text().splitlines()
    start = lines.index("## The service (bench/load_test.py)") - 1
    end = lines.index("## The run's own report (bench/compare_onnx.py)") - 1
    path.write_text("\n".join(lines[:start] + service_section(load) + lines[end:]) + "\n")
    print(f"refreshed the service section of {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", type=Path, default=ROOT / ".build/release/histoae")
    ap.add_argument("--model", type=Path, default=ROOT / "Tests/AutoencoderModelTests/Fixtures/parity_weights_f16.safetensors")
    ap.add_argument("--out", type=Path, default=ROOT / "docs/benchmarks.md")
    ap.add_argument("--batches", default="1,4,8,16", help="batch sizes of the T-thread run")
    ap.add_argument("--quiet-wait", type=float, default=None,
                    help="compare_onnx.py's --quiet-wait (its default: wait up to 60 s for an idle machine)")
    ap.add_argument("--load-results", type=Path, default=BENCH / "load_results.md",
                    help="the load test's report whose table becomes the service section (bench/load_test.py --report; "
                         "a page for another CPU takes that CPU's)")
    ap.add_argument("--service-only", action="store_true",
                    help="only rewrite --out's service section from --load-results (after a load test)")
    args = ap.parse_args()
    if args.service_only:
        return refresh_service_section(args.out, args.load_results)
    if not args.bin.exists():
        raise SystemExit(f"{args.bin} not found: run `swift build -c release` first")
    T = args.threads
    with tempfile.TemporaryDirectory(prefix="histoae_bench_") as tmp:
        tmp = Path(tmp)
        onnx = tmp / "cnn_autoencoder3.onnx"
        peaks = {1: sgemm_peak(args.bin, 1, 3), T: sgemm_peak(args.bin, T, 3)}
        print(f"sgemm peak: {peaks}", flush=True)
        full = compare(T, args.batches, args, onnx, tmp / f"t{T}.json")
        single = compare(1, "1,4", args, onnx, tmp / "t1.json") if T != 1 else full
        med, med1 = medians(full), medians(single)
        best = {e: max(per, key=per.get) for e, per in med.items()}
        rss = {}
        swift_precision = {e: p for p, e in SWIFT_ENGINE.items()} if full["precision"]["swift_precision_flag"] else {}
        for engine, b in best.items():
            if engine.startswith("Swift"):
                cmd = [str(args.bin), "bench", "--model", str(args.model), "--batch", str(b), "--workers", str(T),
                       "--detail", "reconstruction", "--input", "pixels", "--seconds", "3"]
                cmd += ["--precision", swift_precision[engine]] if engine in swift_precision else []
            elif engine in OV_ENGINE.values():
                precision = next(p for p, e in OV_ENGINE.items() if e == engine)
                cmd = [sys.executable, str(BENCH / "openvino_peer.py"), "--onnx", str(onnx), "--precision", precision,
                       "--batch", str(b), "--threads", str(T), "--seconds", "3"]
            else:
                kind = "ort" if engine == "ONNX Runtime" else "torch"
                cmd = [sys.executable, str(BENCH / "engine_rss.py"), "--engine", kind, "--model", str(args.model),
                       "--onnx", str(onnx), "--batch", str(b), "--threads", str(T), "--seconds", "3"]
            rss[engine] = peak_rss_mb(cmd)
        print(f"peak RSS: {rss}", flush=True)
        full_md = (tmp / f"t{T}.md").read_text()

    ort_b1, ort_best = med["ONNX Runtime"][1], max(med["ONNX Runtime"].values())
    lines = [
        "# Benchmarks", "",
        "Written by `python3 bench/benchmarks.py` (after `swift build -c release`); every number below is from one run",
        "of that command on the machine named here. The engines alternate within each round, use the same weights",
        f"({args.model.relative_to(ROOT)}, widened to F32) and the same thread count; medians of {args.rounds} rounds of "
        f"{args.seconds:g} s.", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {full['machine']}, {os.cpu_count()} logical CPUs, Linux {platform.release()}",
        f"- OpenBLAS sgemm peak (2048³, `histoae bench --sgemm 2048`): {peaks[1]:.0f} GFLOP/s on 1 thread, "
        f"{peaks[T]:.0f} GFLOP/s on {T}",
        f"- one forward pass = {GFLOP} GFLOP (im2col + GEMM count; HistoAE's Winograd F(4×4,3×3) fuse convolutions "
        "do 4× fewer multiplies, so its effective GFLOP/s can exceed what its GEMMs run at)",
        f"- correctness in the same run: max |ORT − PyTorch| = {full['check']['ort_vs_torch']:.1e}; HistoAE's parity "
        "with PyTorch (≤ 1e-4) is enforced by `swift test --filter ParityTests`", "",
        f"## {T} threads", "",
        "| engine | img/s @ b1 | ms/img @ b1 | best batch | img/s @ best | GFLOP/s @ best | % of sgemm peak | peak RSS | vs ORT @ b1 | vs ORT @ best |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for engine in ENGINES:
        if engine not in med:
            continue
        b1, bb = med[engine][1], med[engine][best[engine]]
        lines.append(f"| {engine} | {b1:.1f} | {1000 / b1:.1f} | {best[engine]} | {bb:.1f} | {bb * GFLOP:.0f} | "
                     f"{100 * bb * GFLOP / peaks[T]:.0f} % | {rss[engine]:.0f} MB | {b1 / ort_b1:.2f}× | {bb / ort_best:.2f}× |")
    lines += ["", "bf16 rows: % of the fp32 sgemm peak, for scale only (bf16 arithmetic has a higher peak)."]
    lines += ["", "Images/s against batch size (median; all rounds in brackets):", "",
              "| engine | " + " | ".join(f"b{b}" for b in sorted(med["ONNX Runtime"])) + " |",
              "|---|" + "---:|" * len(med["ONNX Runtime"])]
    for engine in ENGINES:
        if engine in med:
            raw = full["results"][engine]
            lines.append(f"| {engine} | " + " | ".join(
                f"{med[engine][b]:.1f} [{', '.join(f'{v:.1f}' for v in raw[str(b)])}]" for b in sorted(med[engine])) + " |")
    raw_swift, raw_ort = full["results"].get("Swift (histoae)"), full["results"]["ONNX Runtime"]
    if raw_swift:
        rounds = min(len(v) for per in (raw_swift, raw_ort) for v in per.values())
        at_b1 = [raw_swift["1"][r] / raw_ort["1"][r] for r in range(rounds)]
        at_best = [max(v[r] for v in raw_swift.values()) / max(v[r] for v in raw_ort.values()) for r in range(rounds)]
        def listed(ratios):
            return f"{statistics.median(ratios):.2f}× (rounds: {', '.join(f'{x:.2f}' for x in ratios)})"
        lines += ["", "Paired by round — the engines run back to back within a round, so a ratio inside one round is not "
                  "skewed by the machine's speed drifting between rounds (it does, by ±20 % here): HistoAE / ONNX Runtime "
                  f"at batch 1, median {listed(at_b1)}; each engine's best batch of the round, median {listed(at_best)}."]
    lines += ["", "## Thread count", "",
              f"Best of batches 1 and 4 at 1 thread against the best at {T} threads (scaling = ratio; {T}.00 is linear):", "",
              f"| engine | img/s, 1 thread (b1 / b4) | img/s, {T} threads (best) | scaling | % of 1-thread sgemm peak |",
              "|---|---:|---:|---:|---:|"]
    for engine in ENGINES:
        if engine in med1 and engine in med:
            one = max(med1[engine].values())
            lines.append(f"| {engine} | {med1[engine][1]:.1f} / {med1[engine][4]:.1f} | {max(med[engine].values()):.1f} | "
                         f"{max(med[engine].values()) / one:.2f}× | {100 * one * GFLOP / peaks[1]:.0f} % |")
    raw = {e: {int(b): v for b, v in per.items()} for e, per in full["results"].items()}
    lines += ["", f"## fp32 and bf16: HistoAE and OpenVINO ({T} threads)", "",
              "Both engines in both precisions, in the same alternating rounds as above; batch 1 and each one's best "
              "batch.", "", *openvino_peer.precision_table(med, raw, full["precision"])]
    lines += service_section(args.load_results)
    lines += ["", "## The run's own report (bench/compare_onnx.py)", "", "<details><summary>full output</summary>", "",
              full_md, "</details>", ""]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
