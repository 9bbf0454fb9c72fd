#!/usr/bin/env python3
"""Runs one engine's forward pass for a few seconds in this process, so a parent can read its peak RSS.

    python3 bench/engine_rss.py --engine ort|torch --model W.safetensors [--onnx M.onnx] --batch 4 --threads 2

Used by bench/benchmarks.py (os.wait4 → ru_maxrss): each engine measured in its own process, nothing shared.
"""
import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["ort", "torch"], required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--onnx", type=Path)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3)
    args = ap.parse_args()
    if args.engine == "ort":
        # ONNX Runtime alone (no PyTorch import): the session options of compare_onnx.make_ort_session.
        import numpy as np
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(args.onnx), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        x = (np.random.default_rng(0).random((args.batch, 3, 150, 150), dtype=np.float32) * 2 - 1)
        run = lambda: session.run(None, {name: x})
    else:
        sys.path.insert(0, str(HERE))
        import torch
        import compare_onnx  # the same model construction as the benchmark
        torch.set_num_threads(args.threads)
        x = torch.rand(args.batch, 3, 150, 150) * 2 - 1
        model = compare_onnx.build_torch_model(args.model)

        def run():
            with torch.inference_mode():
                model(x)
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        run()


if __name__ == "__main__":
    main()
