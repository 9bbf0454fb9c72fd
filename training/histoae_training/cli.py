"""``python -m histoae_training <command>``: train, export, calibrate, evaluate, speed."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Sequence

from .tissue import TissueFilter


def _command_line(argv: Sequence[str]) -> str:
    return "python -m histoae_training " + shlex.join(list(argv))


def _selection_args(p: argparse.ArgumentParser, inputs: str = "+") -> None:
    p.add_argument("inputs", nargs=inputs, help="folders of patch images, patch images, or whole-slide images")
    p.add_argument("--region", choices=("all", "train", "val"), default="all",
                   help="slides: the whole slide, or the train/val part of the --val-side/--val-fraction split")
    p.add_argument("--val-side", default="bottom", choices=("bottom", "top", "left", "right"))
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--stride", type=int, default=150, help="slides: grid step in level pixels (default 150)")
    p.add_argument("--level", type=int, default=None, help="slides: pyramid level (default 0)")
    p.add_argument("--mpp", type=float, default=None, help="slides: read at this µm/px (needs an MPP tag)")
    p.add_argument("--max-patches", type=int, default=None, help="per input, evenly subsampled")
    p.add_argument("--min-tissue", type=float, default=0.5, help="tissue filter: minimum tissue fraction")
    p.add_argument("--max-ink", type=float, default=0.002, help="tissue filter: maximum green/cyan ink fraction")
    p.add_argument("--no-tissue-filter", action="store_true", help="keep every crop")
    p.add_argument("--batch-size", type=int, default=32)


def _selection(a: argparse.Namespace):
    from .evaluate import PatchSelection  # noqa: PLC0415
    filt = None if a.no_tissue_filter else TissueFilter(a.min_tissue, a.max_ink)
    return PatchSelection(region=a.region, val_side=a.val_side, val_fraction=a.val_fraction, stride=a.stride,
                          level=a.level, mpp=a.mpp, max_patches=a.max_patches, tissue_filter=filt)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m histoae_training",
                                 description="Train, export, calibrate and evaluate HistoAE's CNNAutoencoder_3.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train (or --resume) a model")
    t.add_argument("--config", help="JSON or TOML config (see training/configs/default.json)")
    t.add_argument("--data-root", required=True, help="folder the config's source paths are relative to")
    t.add_argument("--out", required=True, help="run folder: last.pt, best.pt, log.jsonl, config.json")
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    t.add_argument("--epochs", type=int)
    t.add_argument("--crops-per-epoch", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"))
    t.add_argument("--device")
    t.add_argument("--threads", type=int)
    t.add_argument("--seed", type=int)
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, e.g. --set loss.gamma=0.5 (JSON values)")
    t.add_argument("--no-progress", action="store_true", help="no tqdm bar")

    e = sub.add_parser("export", help="write model.safetensors + model.json from a checkpoint")
    e.add_argument("--checkpoint", required=True, help="e.g. runs/default/best.pt")
    e.add_argument("--out", required=True, help="model folder, e.g. models/default")
    e.add_argument("--name", required=True)
    e.add_argument("--version", required=True, help="semantic version, e.g. 1.0.0")
    e.add_argument("--float16", action="store_true", help="store floating tensors as float16")
    e.add_argument("--data-root", help="override the data root recorded in the checkpoint")
    e.add_argument("--no-calibration", action="store_true", help="skip the validation figures/calibration pass")
    e.add_argument("--description")
    e.add_argument("--batch-size", type=int, default=32)

    c = sub.add_parser("calibrate", help="recompute only the calibration block of a model (and bump its version)")
    c.add_argument("--model", required=True, help="model folder with model.json")
    c.add_argument("--source", help="description of the normal patches, stored in the block (required unless "
                                    "--validation-of gives export's description)")
    c.add_argument("--validation-of", metavar="CONFIG",
                   help="also calibrate on the held-out validation split of this training config (what export "
                        "calibrates on); needs --data-root")
    c.add_argument("--data-root", help="with --validation-of: the folder the config's source paths are relative to")
    c.add_argument("--bump", choices=("cal", "minor"), default="cal",
                   help="cal: X.Y.Z+cal.<sha8 of the block> (default); minor: X.(Y+1).0")
    c.add_argument("--dry-run", action="store_true", help="print the new block, write nothing")
    _selection_args(c, inputs="*")

    v = sub.add_parser("evaluate", help="figures of a model on folders/slides")
    v.add_argument("--model", required=True, help="model folder or .safetensors file")
    v.add_argument("--json", help="write the summary JSON here")
    v.add_argument("--per-patch", help="write per-patch statistics (CSV) here")
    _selection_args(v)

    s = sub.add_parser("speed", help="measure training crops/s for fp32 vs bf16 autocast on this machine")
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--steps", type=int, default=4)
    s.add_argument("--threads", type=int)
    s.add_argument("--device", default="auto")
    s.add_argument("--precisions", default="fp32,bf16")
    s.add_argument("--formats", default="contiguous,channels_last", help="memory formats to try")
    return ap


def cmd_train(a: argparse.Namespace, argv: Sequence[str]) -> int:
    from .config import apply_overrides, load_config  # noqa: PLC0415
    from .train import train  # noqa: PLC0415
    cfg = load_config(a.config)
    for key, val in (("epochs", a.epochs), ("crops_per_epoch", a.crops_per_epoch), ("batch_size", a.batch_size),
                     ("precision", a.precision), ("device", a.device), ("threads", a.threads), ("seed", a.seed)):
        if val is not None:
            cfg[key] = val
    cfg = apply_overrides(cfg, a.set)
    res = train(cfg, a.data_root, a.out, resume=a.resume, command=_command_line(argv), progress=not a.no_progress)
    print(json.dumps(res, indent=2))
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from .export import export_model  # noqa: PLC0415
    card = export_model(a.checkpoint, a.out, name=a.name, version=a.version, float16=a.float16,
                        data_root=a.data_root, calibrate=not a.no_calibration, description=a.description,
                        batch_size=a.batch_size)
    v = card["validation"]
    print(f"wrote {Path(a.out) / 'model.safetensors'} (sha256 {card['weights']['sha256'][:16]}…) and model.json: "
          f"{card['name']} {card['version']}, validation mse {v['mse']}, l1 {v['l1']}, ssim {v['ssim']} "
          f"on {v['patches']} patches")
    return 0


def cmd_calibrate(a: argparse.Namespace) -> int:
    from .calibrate import calibrate_model  # noqa: PLC0415
    if not a.inputs and not a.validation_of:
        raise SystemExit("calibrate: give INPUT patches/slides and/or --validation-of CONFIG --data-root D")
    if bool(a.validation_of) != bool(a.data_root):
        raise SystemExit("calibrate: --validation-of and --data-root go together")
    if not a.source and not a.validation_of:
        raise SystemExit("calibrate: --source is required (a description of the normal patches)")
    card = calibrate_model(a.model, a.inputs, source=a.source, sel=_selection(a), bump=a.bump,
                           batch_size=a.batch_size, dry_run=a.dry_run,
                           validation_of=(a.validation_of, a.data_root) if a.validation_of else None)
    if a.dry_run:
        print(json.dumps(card["calibration"], indent=2))
    print(f"{card['name']}: version {card['version']}, calibration on {card['calibration']['patches']} patches"
          + (" (dry run, nothing written)" if a.dry_run else ""))
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .evaluate import evaluate  # noqa: PLC0415
    summary, values, crops = evaluate(a.model, a.inputs, _selection(a), batch_size=a.batch_size)
    names = list(values)  # stain_p99 only when the card has a stain plane
    text = json.dumps(summary, indent=2)
    if a.json:
        Path(a.json).write_text(text + "\n", encoding="utf-8")
    if a.per_patch:
        with open(a.per_patch, "w", encoding="utf-8") as f:
            f.write("source,where," + ",".join(names) + "\n")
            for i, c in enumerate(crops):
                f.write(f"{c.source},{c.where}," + ",".join(f"{values[k][i]:.8g}" for k in names) + "\n")
    print(text)
    return 0


def cmd_speed(a: argparse.Namespace) -> int:
    import torch  # noqa: PLC0415
    from .losses import ReconstructionLoss  # noqa: PLC0415
    from .model import CNNAutoencoder3  # noqa: PLC0415
    from .train import autocast_context, describe_device, resolve_precision, select_device  # noqa: PLC0415
    if a.threads:
        torch.set_num_threads(a.threads)
    device = select_device(a.device)
    print(describe_device(device))
    loss_fn = ReconstructionLoss()
    combos = [(p.strip(), f.strip()) for f in a.formats.split(",") for p in a.precisions.split(",")]
    for prec, fmt_name in combos:
        prec = resolve_precision(prec, device)
        fmt = torch.channels_last if fmt_name == "channels_last" else torch.contiguous_format
        torch.manual_seed(0)
        model = CNNAutoencoder3().to(device).train().to(memory_format=fmt)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = (torch.rand(a.batch_size, 3, 150, 150, device=device) * 2 - 1).contiguous(memory_format=fmt)
        times = []
        for _ in range(a.steps + 1):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            with autocast_context(device, prec):
                y = model(x)
            loss, _ = loss_fn(y, x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        steady = sorted(times[1:])
        med = steady[len(steady) // 2]
        print(f"{prec} {fmt_name}: batch {a.batch_size}, median {med:.2f} s/step = {a.batch_size / med:.1f} crops/s, "
              f"best {steady[0]:.2f} s/step = {a.batch_size / steady[0]:.1f} crops/s "
              f"(steps: {', '.join(f'{t:.2f}' for t in times)})", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    a = build_parser().parse_args(argv)
    if a.cmd == "train":
        return cmd_train(a, argv)
    if a.cmd == "export":
        return cmd_export(a)
    if a.cmd == "calibrate":
        return cmd_calibrate(a)
    if a.cmd == "evaluate":
        return cmd_evaluate(a)
    if a.cmd == "speed":
        return cmd_speed(a)
    return 2
