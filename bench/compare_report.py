"""The markdown report of bench/compare_onnx.py: the run's conditions, each engine's images/s at batch 1 and at its
best batch with ratios to ONNX Runtime, images/s per batch size, and HistoAE and OpenVINO per precision.

    table = render(results, skipped, args, check, onnx_ops, precision_info)   # results[engine][batch] = [img/s, …]
    Path("bench/results.md").write_text(table)
"""

from __future__ import annotations

import datetime as _dt
import platform
import statistics
from pathlib import Path

import torch

import openvino_peer
from openvino_peer import OV_ENGINE, SWIFT_ENGINE

GFLOP_PER_IMAGE = 4.26  # 2 x 2.13 GMAC (convs, conv-transposes, head); attention/BN/GELU/resize not counted


def cpu_name(binary: Path) -> str:
    """The CPU, its cores and the GEMM kernel as `histoae machine` names them (bench/load_test.py), so every
    page of record names the machine the same way."""
    import load_test  # noqa: E402  (light: no torch; bench/ is on sys.path, as for every script run from it)
    return load_test.machine_summary(binary)


def render(results: dict[str, dict[int, list[float]]], skipped: dict[str, str], args, check: dict,
           onnx_ops: str, precision_info: dict) -> str:
    med = {e: {b: statistics.median(v) for b, v in per.items()} for e, per in results.items()}
    ort_b1 = med.get("ONNX Runtime", {}).get(1)
    ort_best = max(med["ONNX Runtime"].values()) if "ONNX Runtime" in med else None
    lines = []
    lines.append("# CNNAutoencoder3 CPU inference benchmark")
    lines.append("")
    lines.append(f"- date: {_dt.datetime.now().isoformat(timespec='seconds')}")
    lines.append(f"- machine: {cpu_name(args.bin)}, {platform.system()} {platform.release()}")
    import onnxruntime as ort
    lines.append(f"- python {platform.python_version()}, torch {torch.__version__}, onnxruntime {ort.__version__}, "
                 f"openvino {openvino_peer.openvino_version() or 'not installed'}")
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
                 + (" (Swift: whole process incl. load/warm-up)" if SWIFT_ENGINE["fp32"] in args.utils else ""))
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
    for engine in ("ONNX Runtime", "PyTorch", *SWIFT_ENGINE.values(), *OV_ENGINE.values()):
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
    lines += ["", "## fp32 and bf16: HistoAE and OpenVINO", "",
              *openvino_peer.precision_table(med, results, precision_info)]
    return "\n".join(lines) + "\n"
