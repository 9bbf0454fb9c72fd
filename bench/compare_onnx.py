#!/usr/bin/env python3
"""Benchmark CNNAutoencoder3: ONNX Runtime vs PyTorch vs the Swift engine (`histoae bench`), same thread count.

Steps
  1. Build the reference module (training/histoae_training/model.py) with the weights of --model (safetensors;
     F16 tensors are widened to F32), eval mode.
  2. Export it to ONNX (opset 17, dynamic batch) and check ONNX Runtime's output against PyTorch (max abs).
  3. Time, alternating engines within each round, for every batch size in --batches:
       ORT      intra_op_num_threads=T, inter_op_num_threads=1, ORT_ENABLE_ALL, ORT_SEQUENTIAL
       PyTorch  torch.set_num_threads(T), torch.inference_mode()
       Swift    `$HISTOAE_BIN bench --model PATH --batch N --workers T --detail reconstruction --input pixels --seconds S` (skipped if the binary is missing)
     Each configuration: warm-up, then run for --seconds; --rounds rounds; the median images/s is reported.
  4. Print a markdown table (images/s at batch 1 and at the best batch, ms/image at batch 1, GFLOP/s at
     4.26 GFLOP per image, ratios to ORT) and write it to --out.

Usage (from the repository root):
  python bench/compare_onnx.py [--model PATH] [--threads 2] [--seconds 5] [--batches 1,4,8,16] [--out bench/results.md]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "training"))

from histoae_training.model import CNNAutoencoder3, count_parameters  # noqa: E402
from histoae_training.safetensors_io import load_state_dict  # noqa: E402

GFLOP_PER_IMAGE = 4.26  # 2 x 2.13 GMAC (convs, conv-transposes, head); attention/BN/GELU/resize not counted
DEFAULT_MODEL = REPO_ROOT / "Tests/AutoencoderModelTests/Fixtures/parity_weights_f16.safetensors"
DEFAULT_BIN = REPO_ROOT / ".build/release/histoae"
IMAGES_PER_S = re.compile(r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*images/s")


# ------------------------------------------------------------------------------------------- engines

def build_torch_model(model_path: Path) -> CNNAutoencoder3:
    model = CNNAutoencoder3()
    model.load_state_dict(load_state_dict(model_path, widen=True), strict=True)
    return model.to(torch.float32).eval()


def export_onnx(model: torch.nn.Module, path: Path, opset: int = 17) -> None:
    x = torch.zeros(1, 3, 150, 150)
    kwargs = dict(opset_version=opset, input_names=["input"], output_names=["output"])
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
        have_onnxscript = True
    except ImportError:
        have_onnxscript = False
    if have_onnxscript:
        batch = torch.export.Dim("batch", min=1, max=1024)
        torch.onnx.export(model, (x,), str(path), dynamo=True, external_data=False,
                          dynamic_shapes={"x": {0: batch}}, **kwargs)
    else:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), str(path), dynamo=False, do_constant_folding=True,
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **kwargs)
    import onnx
    onnx.checker.check_model(onnx.load(str(path)))


def make_ort_session(path: Path, threads: int):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def time_loop(fn, batch: int, seconds: float, warmup_s: float, threads: int) -> tuple[float, float]:
    """Warm up, then call fn() repeatedly for `seconds`.

    Returns (images/s, CPU utilisation = process CPU seconds / (wall seconds x threads)). A utilisation well
    below 1 means the engine did not get its cores (another process competed for them) or does not use them."""
    fn()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warmup_s:
        fn()
    n = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return n * batch / dt, (time.process_time() - c0) / (dt * threads)


def _proc_stat_cpu() -> tuple[int, int] | None:
    try:
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    total = sum(vals[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - idle, total


def cpu_busy(interval: float = 0.5) -> float:
    """System-wide fraction of CPU time that was busy over `interval` seconds (0 where /proc/stat is absent)."""
    a = _proc_stat_cpu()
    time.sleep(interval)
    b = _proc_stat_cpu()
    if a is None or b is None or b[1] == a[1]:
        return 0.0
    return (b[0] - a[0]) / (b[1] - a[1])


def wait_quiet(max_wait: float, busy_max: float = 0.15) -> float:
    """Wait (at most max_wait s) until the machine is idle, i.e. nobody else competes for the cores.
    Returns the busy fraction of the last sample."""
    t0 = time.perf_counter()
    busy = cpu_busy()
    while busy > busy_max and time.perf_counter() - t0 < max_wait:
        busy = cpu_busy()
    return busy


def run_swift(bin_path: Path, model_path: Path, batch: int, threads: int, seconds: float) -> tuple[float, float]:
    # The forward pass alone, as the peers are timed: requests of `batch` patches through the engine.
    cmd = [str(bin_path), "bench", "--model", str(model_path), "--batch", str(batch), "--workers", str(threads),
           "--detail", "reconstruction", "--input", "pixels", "--seconds", f"{seconds:g}"]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(120.0, 20 * seconds + 60))
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Whole-process figure (includes model load and warm-up), so only a rough contention indicator.
    util = ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) / (wall * threads)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    for line in (proc.stdout + "\n" + proc.stderr).splitlines():
        m = IMAGES_PER_S.search(line)
        if m:
            return float(m.group(1)), util
    raise RuntimeError(f"no '<float> images/s' in the output of {' '.join(cmd)}:\n{proc.stdout}\n{proc.stderr}")


# ------------------------------------------------------------------------------------------- report

def cpu_name(binary: Path) -> str:
    """The CPU, its cores and the GEMM kernel as `histoae machine` names them (bench/load_test.py), so every
    page of record names the machine the same way."""
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    import load_test  # noqa: E402  (light: no torch)
    return load_test.machine_summary(binary)


def render(results: dict[str, dict[int, list[float]]], skipped: dict[str, str], args, check: dict,
           onnx_ops: str) -> str:
    med = {e: {b: statistics.median(v) for b, v in per.items()} for e, per in results.items()}
    ort_b1 = med.get("ONNX Runtime", {}).get(1)
    ort_best = max(med["ONNX Runtime"].values()) if "ONNX Runtime" in med else None
    lines = []
    lines.append(f"# CNNAutoencoder3 CPU inference benchmark")
    lines.append("")
    lines.append(f"- date: {_dt.datetime.now().isoformat(timespec='seconds')}")
    lines.append(f"- machine: {cpu_name(args.bin)}, {platform.system()} {platform.release()}")
    import onnxruntime as ort
    lines.append(f"- python {platform.python_version()}, torch {torch.__version__}, onnxruntime {ort.__version__}")
    lines.append(f"- model: `{args.model_display}` (widened to F32), {args.nparams:,} parameters, "
                 f"{GFLOP_PER_IMAGE} GFLOP/image")
    lines.append(f"- threads: {args.threads} for every engine; {args.seconds:g} s per configuration after warm-up; "
                 f"median of {args.rounds} alternating rounds; batches tried: {', '.join(map(str, args.batch_list))}")
    lines.append(f"- ONNX: opset {args.opset}, dynamic batch, {onnx_ops}")
    lines.append(f"- correctness: max |ORT − PyTorch| = {check['ort_vs_torch']:.3e} (batch {check['batch']})"
                 + (f"; max |PyTorch − parity_io.output| = {check['torch_vs_fixture']:.3e}"
                    if check.get("torch_vs_fixture") is not None else ""))
    lb, la = args.load
    lines.append(f"- 1-min load average: {lb[0]:.2f} before, {la[0]:.2f} after; CPU utilisation while timed "
                 f"(CPU s / (wall s × threads)), min–max: "
                 + ", ".join(f"{e} {min(u):.2f}–{max(u):.2f}" for e, u in args.utils.items())
                 + (" (Swift: whole process incl. load/warm-up)" if "Swift (histoae)" in args.utils else ""))
    lines.append(f"- contention control: waited up to {args.quiet_wait:g} s for an idle machine before each "
                 f"measurement; a measurement below {args.min_util:g} CPU utilisation ({args.min_util_swift:g} for "
                 f"Swift) was retried up to {args.retries}× (retries: "
                 + (", ".join(f"{e} {n}" for e, n in args.retried.items()) or "none") + ")")
    n_bad = sum(len(v) for per in args.contended.values() for v in per.values())
    if n_bad:
        lines.append(f"- **WARNING: {n_bad} measurement(s) still contended after retries (marked * below): "
                     "the machine was shared; treat those figures as noisy and rerun on a quiet machine.**")
    lines.append("")
    lines.append("| engine | img/s @ b1 | ms/img @ b1 | GFLOP/s @ b1 | best batch | img/s @ best | GFLOP/s @ best "
                 "| vs ORT @ b1 | vs ORT @ best |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for engine in ("ONNX Runtime", "PyTorch", "Swift (histoae)"):
        if engine not in med:
            lines.append(f"| {engine} | skipped: {skipped.get(engine, 'not run')} | | | | | | | |")
            continue
        m = med[engine]
        b1 = m.get(1)
        best_b = max(m, key=m.get)
        best = m[best_b]
        r1 = f"{b1 / ort_b1:.2f}×" if (b1 and ort_b1) else "–"
        rb = f"{best / ort_best:.2f}×" if ort_best else "–"
        lines.append(
            f"| {engine} | {b1:.2f} | {1000.0 / b1:.1f} | {b1 * GFLOP_PER_IMAGE:.1f} | {best_b} | {best:.2f} | "
            f"{best * GFLOP_PER_IMAGE:.1f} | {r1} | {rb} |" if b1 else f"| {engine} | – | – | – | {best_b} | "
            f"{best:.2f} | {best * GFLOP_PER_IMAGE:.1f} | – | {rb} |")
    lines.append("")
    lines.append("Images/s per batch size (median of rounds; all rounds in brackets):")
    lines.append("")
    lines.append("| engine | " + " | ".join(f"b{b}" for b in args.batch_list) + " |")
    lines.append("|---|" + "---:|" * len(args.batch_list))
    for engine, per in results.items():
        cells = []
        for b in args.batch_list:
            if b in per:
                bad = set(args.contended.get(engine, {}).get(b, []))
                runs = ", ".join(f"{v:.2f}{'*' if i in bad else ''}" for i, v in enumerate(per[b]))
                cells.append(f"{statistics.median(per[b]):.2f} [{runs}]")
            else:
                cells.append("–")
        lines.append(f"| {engine} | " + " | ".join(cells) + " |")
    for engine, why in skipped.items():
        if engine not in results:
            lines.append("")
            lines.append(f"{engine}: skipped — {why}")
    lines.append("")
    lines.append("Ratios are images/s of the engine divided by ONNX Runtime's (>1 = faster than ORT). "
                 "GFLOP/s = images/s × 4.26.")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="safetensors weights (F16 or F32)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per configuration")
    ap.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per configuration")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batches", default="1,4,8,16")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--bin", type=Path, default=Path(os.environ.get("HISTOAE_BIN", DEFAULT_BIN)),
                    help="Swift engine binary (default $HISTOAE_BIN or .build/release/histoae)")
    ap.add_argument("--onnx", type=Path, default=None, help="where to write the ONNX file (default: temp dir)")
    ap.add_argument("--quiet-wait", type=float, default=60.0,
                    help="before each measurement wait up to this many seconds for the machine to be idle (0: off)")
    ap.add_argument("--min-util", type=float, default=0.9,
                    help="a measurement with CPU utilisation below this counts as contended and is retried")
    ap.add_argument("--min-util-swift", type=float, default=0.8,
                    help="same for the Swift subprocess (its figure includes single-threaded model loading)")
    ap.add_argument("--retries", type=int, default=2, help="retries of a contended measurement")
    ap.add_argument("--engines", default="ort,torch,swift", help="subset of ort,torch,swift")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "bench/results.md")
    ap.add_argument("--json", type=Path, default=None,
                    help="also write the raw results (images/s of every round per engine and batch) as JSON")
    args = ap.parse_args(argv)
    args.batch_list = [int(b) for b in args.batches.split(",") if b.strip()]
    engines = {e.strip() for e in args.engines.split(",")}
    try:
        args.model_display = str(args.model.resolve().relative_to(REPO_ROOT))
    except ValueError:
        args.model_display = str(args.model)

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    model = build_torch_model(args.model)
    args.nparams = count_parameters(model)
    print(f"model {args.model_display}: {args.nparams:,} parameters", flush=True)

    tmpdir = None
    onnx_path = args.onnx
    if onnx_path is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="histoae_onnx_")
        onnx_path = Path(tmpdir.name) / "cnn_autoencoder3.onnx"
    t0 = time.perf_counter()
    export_onnx(model, onnx_path, args.opset)
    import onnx
    g = onnx.load(str(onnx_path))
    onnx_ops = f"{len(g.graph.node)} nodes, {onnx_path.stat().st_size / 1e6:.1f} MB"
    print(f"exported ONNX opset {args.opset} to {onnx_path} in {time.perf_counter() - t0:.1f} s ({onnx_ops})",
          flush=True)
    sess = make_ort_session(onnx_path, args.threads)
    in_name = sess.get_inputs()[0].name

    # Inputs: the real fixture patches if present (tiled to the batch), else seeded uniform [-1, 1].
    fixture_io = REPO_ROOT / "Tests/AutoencoderModelTests/Fixtures/parity_io.safetensors"
    ref = None
    if fixture_io.exists():
        from safetensors.torch import load_file
        ref = load_file(str(fixture_io))
        base = ref["input"]
    else:
        base = torch.rand(3, 3, 150, 150, generator=torch.Generator().manual_seed(0)) * 2 - 1
    inputs = {b: base.repeat((b + base.shape[0] - 1) // base.shape[0], 1, 1, 1)[:b].contiguous()
              for b in set(args.batch_list) | {4}}

    # Correctness: ORT vs PyTorch on a batch of 4 (exercises the dynamic batch axis) and batch 1.
    check = {"batch": "1 and 4", "ort_vs_torch": 0.0, "torch_vs_fixture": None}
    with torch.inference_mode():
        for b in (1, 4):
            y_t = model(inputs[b]).numpy()
            y_o = sess.run(None, {in_name: inputs[b].numpy()})[0]
            assert y_o.shape == y_t.shape == (b, 3, 150, 150), (y_o.shape, y_t.shape)
            check["ort_vs_torch"] = max(check["ort_vs_torch"], float(np.abs(y_o - y_t).max()))
        if ref is not None and args.model.resolve() == DEFAULT_MODEL.resolve():
            check["torch_vs_fixture"] = float((model(ref["input"]) - ref["output"]).abs().max())
    print(f"max |ORT - PyTorch| = {check['ort_vs_torch']:.3e}"
          + (f", max |PyTorch - fixture| = {check['torch_vs_fixture']:.3e}" if check["torch_vs_fixture"] is not None
             else ""), flush=True)
    if check["ort_vs_torch"] > 1e-3:
        print("WARNING: ORT and PyTorch disagree by more than 1e-3", flush=True)

    skipped: dict[str, str] = {}
    run_ort, run_torch = "ort" in engines, "torch" in engines
    run_sw = "swift" in engines
    if run_sw and not (args.bin.is_file() and os.access(args.bin, os.X_OK)):
        skipped["Swift (histoae)"] = f"binary {args.bin} not found (build with `swift build -c release`)"
        print(f"Swift engine skipped: {skipped['Swift (histoae)']}", flush=True)
        run_sw = False
    elif not run_sw:
        skipped["Swift (histoae)"] = "not requested (--engines)"
    if not run_ort:
        skipped["ONNX Runtime"] = "not requested (--engines)"
    if not run_torch:
        skipped["PyTorch"] = "not requested (--engines)"

    ort_inputs = {b: {in_name: x.numpy()} for b, x in inputs.items()}

    def ort_fn(b):
        return lambda: sess.run(None, ort_inputs[b])

    def torch_fn(b):
        x = inputs[b]

        def f():
            with torch.inference_mode():
                model(x)
        return f

    results: dict[str, dict[int, list[float]]] = {}
    utils: dict[str, list[float]] = {}
    retried: dict[str, int] = {}
    contended: dict[str, dict[int, list[int]]] = {}
    load_before = os.getloadavg()
    order = [e for e, on in (("ONNX Runtime", run_ort), ("PyTorch", run_torch), ("Swift (histoae)", run_sw)) if on]
    for r in range(args.rounds):
        for b in args.batch_list:
            # Alternate the engine order between rounds so no engine always runs first/last.
            seq = order if r % 2 == 0 else list(reversed(order))
            for engine in seq:
                threshold = args.min_util if engine != "Swift (histoae)" else args.min_util_swift
                failed = False
                for attempt in range(args.retries + 1):
                    if args.quiet_wait > 0:
                        wait_quiet(args.quiet_wait)
                    if engine == "ONNX Runtime":
                        ips, util = time_loop(ort_fn(b), b, args.seconds, args.warmup, args.threads)
                    elif engine == "PyTorch":
                        ips, util = time_loop(torch_fn(b), b, args.seconds, args.warmup, args.threads)
                    else:
                        try:
                            ips, util = run_swift(args.bin, args.model, b, args.threads, args.seconds)
                        except Exception as exc:  # keep the other engines' results
                            skipped[engine] = f"failed: {exc}".splitlines()[0]
                            print(f"Swift engine failed: {exc}", flush=True)
                            order = [e for e in order if e != engine]
                            failed = True
                            break
                    status = "ok" if util >= threshold else "CONTENDED"
                    print(f"round {r + 1}/{args.rounds}  batch {b:3d}  {engine:16s} {ips:8.2f} images/s  "
                          f"({1000.0 / ips:7.1f} ms/image, {ips * GFLOP_PER_IMAGE:6.1f} GFLOP/s, "
                          f"cpu util {util:4.2f}, load {os.getloadavg()[0]:.2f}) {status}", flush=True)
                    if util >= threshold:
                        break
                    if attempt < args.retries:
                        retried[engine] = retried.get(engine, 0) + 1
                if failed:
                    continue
                results.setdefault(engine, {}).setdefault(b, []).append(ips)
                utils.setdefault(engine, []).append(util)
                if util < threshold:
                    contended.setdefault(engine, {}).setdefault(b, []).append(len(results[engine][b]) - 1)

    args.load = (load_before, os.getloadavg())
    args.utils = utils
    args.retried = retried
    args.contended = contended
    table = render(results, skipped, args, check, onnx_ops)
    print()
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(f"wrote {args.out}")
    if args.json is not None:
        import json
        args.json.write_text(json.dumps({
            "threads": args.threads, "seconds": args.seconds, "rounds": args.rounds, "machine": cpu_name(args.bin),
            "check": check, "skipped": skipped, "onnx": onnx_ops, "load": args.load,
            "results": {e: {str(b): v for b, v in per.items()} for e, per in results.items()},
            "utilisation": utils}, indent=1))
        print(f"wrote {args.json}")
    if tmpdir is not None:
        tmpdir.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
