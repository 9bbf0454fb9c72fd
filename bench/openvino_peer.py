"""OpenVINO in fp32 and bf16, and HistoAE's `--precision` runs: the precision half of bench/compare_onnx.py.

OpenVINO compiles the same ONNX file as ONNX Runtime (same weights), reshaped to a static batch (OpenVINO's CPU
plugin runs fastest on static shapes), with INFERENCE_NUM_THREADS = T, PERFORMANCE_HINT = LATENCY (one stream)
and INFERENCE_PRECISION_HINT = f32 or bf16. What actually ran is read back from the compiled model
(INFERENCE_PRECISION_HINT, EXECUTION_DEVICES) and from one profiled inference (the convolutions' oneDNN kernels,
e.g. `brgconv_avx512_bf16`), so a CPU without bf16 cannot pass a silent fp32 run off as bf16.

    peer = OpenVINOPeer(Path("model.onnx"), threads=2)
    run = peer.runner("bf16", batch=8, x=np.zeros((8, 3, 150, 150), np.float32))
    run()                                            # one forward pass
    peer.ran_precision("bf16")                       # 'bf16 on CPU'
    precision_table(medians, raw, info)              # the markdown rows of docs/benchmarks.md's precision table
    peer.throughput("bf16", [x[:1]], seconds=3, streams=2, in_flight=4)   # images/s, requests kept in flight
"""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

PRECISIONS = ("fp32", "bf16")
OV_HINT = {"fp32": "f32", "bf16": "bf16"}
OV_ENGINE = {"fp32": "OpenVINO fp32", "bf16": "OpenVINO bf16"}
SWIFT_ENGINE = {"fp32": "Swift (histoae)", "bf16": "Swift (histoae) bf16"}
# `histoae bench` ends with "...; precision: bf16; GEMM: bf16 AVX512-BF16 kernel (CGEMMKernel), float32 sums".
SWIFT_PATH = re.compile(r"precision:\s*([^;\n]+);\s*GEMM:\s*([^\n]+)")
# The node types whose kernels carry the arithmetic; the rest (activations, reorders) follow them.
HEAVY_NODES = {"Convolution", "ConvolutionBackpropData", "GroupConvolution", "MatMul", "FullyConnected"}


def openvino_version() -> str | None:
    try:
        import openvino as ov
    except ImportError:
        return None
    return ov.__version__.split("-")[0]


class OpenVINOPeer:
    """One compiled model per (precision, batch), compiled on first use and kept for the whole run."""

    def __init__(self, onnx_path: Path, threads: int):
        import openvino as ov
        self.core = ov.Core()
        self.onnx_path = onnx_path
        self.threads = threads
        self.compiled: dict[tuple, object] = {}   # (precision, batch) or (precision, batch, streams)
        self.device_name = str(self.core.get_property("CPU", "FULL_DEVICE_NAME"))
        self.capabilities = list(self.core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))

    def compile(self, precision: str, batch: int, profile: bool = False, streams: int = 1):
        """streams 1: LATENCY, one stream on all the threads; more: THROUGHPUT, the threads split among them."""
        model = self.core.read_model(str(self.onnx_path))
        model.reshape([batch, 3, 150, 150])
        config = {"INFERENCE_NUM_THREADS": self.threads, "INFERENCE_PRECISION_HINT": OV_HINT[precision],
                  "PERFORMANCE_HINT": "LATENCY" if streams == 1 else "THROUGHPUT", "NUM_STREAMS": streams,
                  "PERF_COUNT": profile}
        return self.core.compile_model(model, "CPU", config)

    def model(self, precision: str, batch: int):
        key = (precision, batch)
        if key not in self.compiled:
            self.compiled[key] = self.compile(precision, batch)
        return self.compiled[key]

    def runner(self, precision: str, batch: int, x: np.ndarray):
        """A callable running one forward pass on x (shared with OpenVINO, not copied: ORT reads its numpy too)."""
        request = self.model(precision, batch).create_infer_request()
        return lambda: request.infer({0: x}, share_inputs=True)

    def throughput(self, precision: str, inputs: list[np.ndarray], seconds: float, streams: int = 1,
                   in_flight: int = 1) -> float:
        """Images/s with `in_flight` requests kept queued (AsyncInferQueue) on `streams` streams for `seconds`,
        after one warm-up pass per request; request k gets inputs[k % len(inputs)] (all of one batch size)."""
        import openvino as ov
        batch = inputs[0].shape[0]
        key = (precision, batch, streams)
        if key not in self.compiled:
            self.compiled[key] = self.model(precision, batch) if streams == 1 else self.compile(precision, batch,
                                                                                                 streams=streams)
        queue = ov.AsyncInferQueue(self.compiled[key], in_flight)
        for k in range(in_flight):
            queue.start_async({0: inputs[k % len(inputs)]})
        queue.wait_all()
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            queue.start_async({0: inputs[done % len(inputs)]})   # blocks until a request is free
            done += 1
        queue.wait_all()
        return done * batch / (time.perf_counter() - started)

    def infer(self, precision: str, x: np.ndarray) -> np.ndarray:
        request = self.model(precision, x.shape[0]).create_infer_request()
        return np.array(request.infer({0: x})[0])

    def ran_precision(self, precision: str) -> str:
        """The precision and device the compiled model reports, e.g. 'bf16 on CPU'."""
        compiled = self.model(precision, 1)
        ran = compiled.get_property("INFERENCE_PRECISION_HINT")
        devices = compiled.get_property("EXECUTION_DEVICES")
        return f"{getattr(ran, 'get_type_name', lambda: str(ran))()} on {', '.join(devices)}"

    def kernels(self, precision: str, x: np.ndarray) -> str:
        """The oneDNN kernels that ran the convolutions in one profiled pass, most used first."""
        request = self.compile(precision, x.shape[0], profile=True).create_infer_request()
        request.infer({0: x})
        used = Counter(p.exec_type for p in request.profiling_info if p.node_type in HEAVY_NODES)
        return ", ".join(f"`{kernel}` ×{n}" for kernel, n in used.most_common())


def drift(y: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    difference = np.abs(np.asarray(y, dtype=np.float64) - np.asarray(reference, dtype=np.float64))
    return {"max": float(difference.max()), "mean": float(difference.mean())}


def swift_has_precision(binary: Path, subcommand: str = "bench") -> bool:
    """Whether this `histoae` build has `<subcommand> --precision` (the binary may predate it)."""
    help_text = subprocess.run([str(binary), subcommand, "--help"], capture_output=True, text=True, timeout=60)
    return "--precision" in help_text.stdout + help_text.stderr


def swift_drift(binary: Path, model: Path, x: np.ndarray, reference: np.ndarray, precision: str,
                threads: int) -> dict[str, float]:
    """HistoAE's drift from `reference` (PyTorch) on x, through `histoae reconstruct --precision` on a .npy
    of x in one request of all its patches."""
    with tempfile.TemporaryDirectory(prefix="histoae_drift_") as tmp:
        source, output = Path(tmp) / "x.npy", Path(tmp) / "y.npy"
        np.save(source, np.ascontiguousarray(x, dtype=np.float32))
        cmd = [str(binary), "reconstruct", "--model", str(model), "--precision", precision, "--workers", str(threads),
               "--batch", str(x.shape[0]), "--output", str(output), str(source)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed (rc {done.returncode}): {done.stderr.strip()[-500:]}")
        y = np.load(output)
    if y.shape != reference.shape:
        raise RuntimeError(f"histoae reconstruct wrote shape {y.shape}, expected {reference.shape}")
    return drift(y, reference)


def swift_path(output: str) -> str | None:
    """'precision: bf16; GEMM: …' from `histoae bench`'s output, or None where it prints no such line."""
    found = SWIFT_PATH.search(output)
    return f"{found.group(1).strip()}; GEMM: {found.group(2).strip()}" if found else None


def openvino_checks(peer: OpenVINOPeer, x: np.ndarray, reference: np.ndarray) -> dict:
    """Per precision: what the compiled model ran, its convolution kernels, and its drift from `reference`."""
    info = {"device": peer.device_name, "ran": {}, "kernels": {}, "drift": {}}
    for p in PRECISIONS:
        info["drift"][p] = drift(peer.infer(p, x), reference)
        info["ran"][p] = peer.ran_precision(p)
        info["kernels"][p] = peer.kernels(p, x[:1])
        print(f"OpenVINO {p}: ran {info['ran'][p]} ({info['kernels'][p]}); vs PyTorch max |Δ| "
              f"{info['drift'][p]['max']:.3g}, mean |Δ| {info['drift'][p]['mean']:.3g}", flush=True)
    return info


def swift_checks(binary: Path, model: Path, x: np.ndarray, reference: np.ndarray, threads: int) -> dict:
    """HistoAE's drift from `reference` per precision; {} where `reconstruct` has no --precision (older build)."""
    if not swift_has_precision(binary, "reconstruct"):
        print(f"HistoAE drift not measured: {binary} reconstruct has no --precision flag", flush=True)
        return {}
    drifts = {}
    for p in PRECISIONS:
        try:
            d = drifts[p] = swift_drift(binary, model, x, reference, p, threads)
            print(f"HistoAE {p}: vs PyTorch max |Δ| {d['max']:.3g}, mean |Δ| {d['mean']:.3g}", flush=True)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
            print(f"HistoAE {p} drift not measured: {exc}", flush=True)
    return drifts


def cpu_bf16_flags() -> str:
    """The CPU's bf16 instructions as /proc/cpuinfo lists them (avx512_bf16, amx_bf16), or 'none'."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return "unknown"
    have = [f for f in ("avx512_bf16", "amx_bf16", "avx_ne_convert") if f in flags.split()]
    return ", ".join(have) or "none"


def _paired(raw: dict, a: str, b: str, batch: int | None) -> list[float]:
    """Per-round ratios a / b at `batch` (None: each engine's best batch of that round)."""
    if a not in raw or b not in raw:
        return []
    if batch is not None:
        return [x / y for x, y in zip(raw[a].get(batch, []), raw[b].get(batch, []))]
    rounds = min(len(v) for per in (raw[a], raw[b]) for v in per.values())
    return [max(v[r] for v in raw[a].values()) / max(v[r] for v in raw[b].values()) for r in range(rounds)]


def precision_table(med: dict[str, dict[int, float]], raw: dict[str, dict[int, list[float]]], info: dict) -> list[str]:
    """Markdown: HistoAE and OpenVINO × {fp32, bf16} images/s at batch 1 and at the best batch, the paths that ran,
    HistoAE/OpenVINO per precision, and OpenVINO's drift from PyTorch. `med`/`raw` are keyed by engine then batch;
    `info` is compare_onnx.py's "precision" JSON object."""
    def cell(engine: str, best: bool) -> str:
        per = med.get(engine)
        if not per:
            return "–"
        if not best:
            return f"{per[1]:.1f}" if 1 in per else "–"
        b = max(per, key=per.get)
        return f"{per[b]:.1f} (b{b})"

    def ratio(a: str, b: str, best: bool) -> str:
        if not med.get(a) or not med.get(b) or (not best and (1 not in med[a] or 1 not in med[b])):
            return "–"
        x = max(med[a].values()) / max(med[b].values()) if best else med[a][1] / med[b][1]
        rounds = _paired(raw, a, b, None if best else 1)
        listed = f" (rounds: {', '.join(f'{r:.2f}' for r in rounds)})" if len(rounds) > 1 else ""
        return f"{x:.2f}×{listed}"

    swift_paths, ov = info.get("swift_paths", {}), info.get("openvino", {})
    rows = [f"- CPU: {info.get('cpu', 'unknown')}; bf16 instructions: {info.get('cpu_bf16', 'unknown')}",
            f"- OpenVINO {ov.get('version') or 'not installed'}: fp32 ran {ov.get('ran', {}).get('fp32', '–')} "
            f"({ov.get('kernels', {}).get('fp32', '–')}); bf16 ran {ov.get('ran', {}).get('bf16', '–')} "
            f"({ov.get('kernels', {}).get('bf16', '–')})",
            f"- HistoAE: fp32 ran {swift_paths.get('fp32', '–')}; bf16 ran {swift_paths.get('bf16', '–')}"]
    for name, drifts in (("OpenVINO", ov.get("drift", {})), ("HistoAE", info.get("swift_drift", {}))):
        for precision in PRECISIONS:
            d = drifts.get(precision)
            if d:
                rows.append(f"- drift, {name} {precision} − PyTorch fp32 (the check inputs, batches 1 and 4): "
                            f"max |Δ| {d['max']:.3g}, mean |Δ| {d['mean']:.3g}")
    for engine, why in info.get("skipped", {}).items():
        rows.append(f"- {engine}: skipped — {why}")
    rows += ["", "| engine | fp32 img/s @ b1 | fp32 img/s @ best | bf16 img/s @ b1 | bf16 img/s @ best |",
             "|---|---:|---:|---:|---:|"]
    for name, engines in (("OpenVINO", OV_ENGINE), ("HistoAE", SWIFT_ENGINE)):
        rows.append(f"| {name} | {cell(engines['fp32'], False)} | {cell(engines['fp32'], True)} | "
                    f"{cell(engines['bf16'], False)} | {cell(engines['bf16'], True)} |")
    rows.append("| HistoAE / OpenVINO | " + " | ".join(
        ratio(SWIFT_ENGINE[p], OV_ENGINE[p], best) for p in PRECISIONS for best in (False, True)) + " |")
    rows += ["", "Ratios: medians' ratio, then the per-round ratios (the engines run back to back within a round). "
             "Each precision is compared with the same precision."]
    return rows


def medians(results: dict[str, dict[int, list[float]]]) -> dict[str, dict[int, float]]:
    return {e: {int(b): statistics.median(v) for b, v in per.items()} for e, per in results.items()}


def main() -> None:
    """OpenVINO alone for --seconds in this process, so bench/benchmarks.py can read its peak RSS (os.wait4), as
    bench/engine_rss.py does for ONNX Runtime and PyTorch:

        python3 bench/openvino_peer.py --onnx M.onnx --precision bf16 --batch 8 --threads 2 --seconds 3
    """
    import argparse
    import time
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--precision", choices=PRECISIONS, default="fp32")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3)
    args = ap.parse_args()
    x = np.random.default_rng(0).random((args.batch, 3, 150, 150), dtype=np.float32) * 2 - 1
    run = OpenVINOPeer(args.onnx, args.threads).runner(args.precision, args.batch, x)
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        run()


if __name__ == "__main__":
    main()
