#!/usr/bin/env python3
"""Benchmark CNNAutoencoder3: ONNX Runtime vs PyTorch vs OpenVINO (fp32, bf16) vs the Swift engine (`histoae bench`,
fp32 and bf16), same thread count.

Steps
  1. Build the reference module (training/histoae_training/model.py) with the weights of --model (safetensors;
     F16 tensors are widened to F32), eval mode.
  2. Export it to ONNX (opset 17, dynamic batch) and check ONNX Runtime's output against PyTorch (max abs).
  3. Time, alternating engines within each round, for every batch size in --batches:
       ORT      intra_op_num_threads=T, inter_op_num_threads=1, ORT_ENABLE_ALL, ORT_SEQUENTIAL
       PyTorch  torch.set_num_threads(T), torch.inference_mode()
       Swift    `$HISTOAE_BIN bench --model PATH --batch N --workers T --detail reconstruction --input pixels
                 --seconds S [--precision fp32|bf16]` (skipped if the binary is missing; bf16 skipped if it has
                 no --precision); `histoae reconstruct --precision` gives its drift from PyTorch
       OpenVINO the same ONNX file, static batch, INFERENCE_NUM_THREADS=T, LATENCY, INFERENCE_PRECISION_HINT f32 and
                bf16 (bench/openvino_peer.py; skipped if `openvino` is not installed); drift from PyTorch checked
     Each configuration: warm-up, then run for --seconds; --rounds rounds; the median images/s is reported.
  4. Print a markdown table (images/s at batch 1 and at the best batch, ms/image at batch 1, GFLOP/s at
     4.26 GFLOP per image, ratios to ORT), then HistoAE and OpenVINO per precision, and write it to --out.

Usage (from the repository root):
  python bench/compare_onnx.py [--model PATH] [--threads 2] [--seconds 5] [--batches 1,4,8,16] [--out bench/results.md]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
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

sys.path.insert(0, str(REPO_ROOT / "bench"))
import openvino_peer  # noqa: E402
from openvino_peer import OV_ENGINE, SWIFT_ENGINE  # noqa: E402
from compare_report import GFLOP_PER_IMAGE, cpu_name, render  # noqa: E402

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


def run_swift(bin_path: Path, model_path: Path, batch: int, threads: int, seconds: float,
              precision: str | None = None) -> tuple[float, float, str | None]:
    """(images/s, CPU utilisation, the precision and GEMM path it printed). precision None: no --precision flag."""
    # The forward pass alone, as the peers are timed: requests of `batch` patches through the engine.
    cmd = [str(bin_path), "bench", "--model", str(model_path), "--batch", str(batch), "--workers", str(threads),
           "--detail", "reconstruction", "--input", "pixels", "--seconds", f"{seconds:g}"]
    cmd += ["--precision", precision] if precision else []
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
            return float(m.group(1)), util, openvino_peer.swift_path(proc.stdout + "\n" + proc.stderr)
    raise RuntimeError(f"no '<float> images/s' in the output of {' '.join(cmd)}:\n{proc.stdout}\n{proc.stderr}")


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
    ap.add_argument("--engines", default="ort,torch,swift,ov",
                    help="subset of ort,torch,swift,ov (swift and ov: fp32 and bf16 each)")
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
    skipped: dict[str, str] = {}
    ov_peer, ov_info, torch_out = None, {"version": openvino_peer.openvino_version()}, {}
    if "ov" in engines and ov_info["version"] is None:
        why = "`openvino` not installed (pip install -r bench/requirements.txt)"
        skipped.update({e: why for e in OV_ENGINE.values()})
    elif "ov" in engines:
        ov_peer = openvino_peer.OpenVINOPeer(onnx_path, args.threads)
    with torch.inference_mode():
        for b in (1, 4):
            y_t = torch_out[b] = model(inputs[b]).numpy()
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
    # Both check batches in one: the drift of OpenVINO and HistoAE from PyTorch in each precision.
    x_check = np.concatenate([inputs[1].numpy(), inputs[4].numpy()])
    y_check = np.concatenate([torch_out[1], torch_out[4]])
    if ov_peer is not None:
        ov_info.update(openvino_peer.openvino_checks(ov_peer, x_check, y_check))

    run_ort, run_torch, run_ov = "ort" in engines, "torch" in engines, ov_peer is not None
    run_sw = "swift" in engines
    if run_sw and not (args.bin.is_file() and os.access(args.bin, os.X_OK)):
        skipped["Swift (histoae)"] = f"binary {args.bin} not found (build with `swift build -c release`)"
        print(f"Swift engine skipped: {skipped['Swift (histoae)']}", flush=True)
        run_sw = False
    elif not run_sw:
        skipped["Swift (histoae)"] = "not requested (--engines)"
    # fp32 is passed explicitly where the flag exists, so $HISTOAE_PRECISION cannot turn the fp32 run into bf16.
    swift_flag = run_sw and openvino_peer.swift_has_precision(args.bin)
    if run_sw and not swift_flag:
        skipped[SWIFT_ENGINE["bf16"]] = f"{args.bin} bench has no --precision flag (rebuild: swift build -c release)"
        print(f"Swift bf16 skipped: {skipped[SWIFT_ENGINE['bf16']]}", flush=True)
    if "ov" not in engines:
        skipped.update({e: "not requested (--engines)" for e in OV_ENGINE.values()})
    swift_drift = openvino_peer.swift_checks(args.bin, args.model, x_check, y_check, args.threads) if run_sw else {}
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
    order = [e for e, on in (("ONNX Runtime", run_ort), ("PyTorch", run_torch), (SWIFT_ENGINE["fp32"], run_sw),
                             (SWIFT_ENGINE["bf16"], swift_flag), (OV_ENGINE["fp32"], run_ov),
                             (OV_ENGINE["bf16"], run_ov)) if on]
    swift_precision = {e: (p if swift_flag else None) for p, e in SWIFT_ENGINE.items()}
    ov_precision = {e: p for p, e in OV_ENGINE.items()}
    swift_paths: dict[str, str] = {}
    for r in range(args.rounds):
        for b in args.batch_list:
            # Alternate the engine order between rounds so no engine always runs first/last.
            seq = order if r % 2 == 0 else list(reversed(order))
            for engine in seq:
                threshold = args.min_util if engine not in swift_precision else args.min_util_swift
                failed = False
                for attempt in range(args.retries + 1):
                    if args.quiet_wait > 0:
                        wait_quiet(args.quiet_wait)
                    if engine == "ONNX Runtime":
                        ips, util = time_loop(ort_fn(b), b, args.seconds, args.warmup, args.threads)
                    elif engine == "PyTorch":
                        ips, util = time_loop(torch_fn(b), b, args.seconds, args.warmup, args.threads)
                    elif engine in ov_precision:
                        run = ov_peer.runner(ov_precision[engine], b, ort_inputs[b][in_name])
                        ips, util = time_loop(run, b, args.seconds, args.warmup, args.threads)
                    else:
                        try:
                            ips, util, path = run_swift(args.bin, args.model, b, args.threads, args.seconds,
                                                        swift_precision[engine])
                            swift_paths[swift_precision[engine] or "fp32"] = path or "not printed"
                        except Exception as exc:  # keep the other engines' results
                            skipped[engine] = f"failed: {exc}".splitlines()[0]
                            print(f"Swift engine failed: {exc}", flush=True)
                            order = [e for e in order if e != engine]
                            failed = True
                            break
                    status = "ok" if util >= threshold else "CONTENDED"
                    print(f"round {r + 1}/{args.rounds}  batch {b:3d}  {engine:20s} {ips:8.2f} images/s  "
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
    precision_info = {"cpu": cpu_name(args.bin), "cpu_bf16": openvino_peer.cpu_bf16_flags(), "openvino": ov_info,
                      "swift_paths": swift_paths, "swift_precision_flag": swift_flag, "swift_drift": swift_drift,
                      "skipped": {e: w for e, w in skipped.items() if e in (*OV_ENGINE.values(), SWIFT_ENGINE["bf16"])}}
    table = render(results, skipped, args, check, onnx_ops, precision_info)
    print()
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(f"wrote {args.out}")
    if args.json is not None:
        import json
        args.json.write_text(json.dumps({
            "threads": args.threads, "seconds": args.seconds, "rounds": args.rounds, "machine": cpu_name(args.bin),
            "check": check, "skipped": skipped, "onnx": onnx_ops, "load": args.load, "precision": precision_info,
            "results": {e: {str(b): v for b, v in per.items()} for e, per in results.items()},
            "utilisation": utils}, indent=1))
        print(f"wrote {args.json}")
    if tmpdir is not None:
        tmpdir.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
