#!/usr/bin/env python3
"""bf16 against fp32 (issue 19): how `--precision bf16` moves reconstructions, scores, verdicts and AUROC.

Builds evaluate_scores.py's patch sets once (its functions, seed and defaults: the sets of docs/evaluation.md),
then scores all of them with ``histoae score --method M --format json`` for every method, once with
HISTOAE_PRECISION=fp32 and once with HISTOAE_PRECISION=bf16, and reconstructs a seeded sample of the normal
patches with ``histoae reconstruct --format npy`` in both. Compares, per method: AUROC per artefact kind
(|Δ| must be ≤ --auroc-tolerance, 0.005), per-patch score |Δ| (max, p99, mean), the fraction of patches whose
verdict changes (all sets together must be ≤ --verdict-tolerance, 0.5 %; per set reported), the false-positive
rate on normal patches; the reconstruction |Δ| in the normalized [-1, 1] space; and, on the first
--block-sample patches of that sample, every block's output |Δ| (``histoae reconstruct --blocks``). Writes

  docs/precision.md                   CPU, GEMM path per precision, command, tables, PASS/FAIL lines
  WORK/fp32/evaluation.json, WORK/bf16/evaluation.json
                                      each precision's evaluation (evaluate_scores.py's figures, every score)
  WORK/precision.json                 every number of docs/precision.md

and exits 1 when a threshold fails (2 when the bf16 kernel did not run). docs/evaluation.* are not touched.

Usage (from the repository root; the binary is built with `swift build -c release`):

  python3 training/scripts/evaluate_precision.py [--model models/default] [--bin .build/release/histoae]
      [--work DIR] [--workers N] [--max-per-set N] [--recon-sample 128] [--block-sample 16]
      [--markdown docs/precision.md]

Smoke test (a random-weight MODEL_DIR as in evaluate_scores.py; numbers meaningless):

  python3 training/scripts/evaluate_precision.py --model MODEL_DIR --max-per-set 10 --workers 1 \\
      --markdown "$(mktemp -d)/precision.md"
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))

import evaluate_scores as es  # noqa: E402

PRECISIONS = ("fp32", "bf16")


# ----------------------------------------------------------------------------------------------- comparison
def drift(a, b) -> dict:
    """max, p99 and mean of |a − b| over every value (any shapes that match)."""
    d = np.abs(np.asarray(a, np.float64).ravel() - np.asarray(b, np.float64).ravel())
    if d.size == 0:
        return {"n": 0, "max": None, "p99": None, "mean": None}
    return {"n": int(d.size), "max": float(d.max()), "p99": float(np.percentile(d, 99)), "mean": float(d.mean())}


# The blocks `histoae reconstruct --blocks` writes, in the order of the forward pass.
BLOCKS = ["enc1", "enc2", "enc3", "enc4", "up1", "fuse1", "up2", "fuse2", "up3", "fuse3", "up4", "head", "output"]


def block_drift(fp_dir: Path, bf_dir: Path) -> list[dict]:
    """Per block: its (N, C, H, W) shape, the drift of bf16 from fp32 and the largest |fp32| value (the scale the
    drift is read against), from the two precisions' `--blocks` folders."""
    rows = []
    for name in BLOCKS:
        fp, bf = np.load(fp_dir / f"{name}.npy"), np.load(bf_dir / f"{name}.npy")
        if fp.shape != bf.shape:
            raise RuntimeError(f"{name}: fp32 shape {fp.shape} but bf16 {bf.shape}")
        rows.append({"block": name, "shape": list(fp.shape), **drift(fp, bf),
                     "scale": float(np.abs(fp).max()) if fp.size else None})
    return rows


def verdict_of(rec: dict) -> str:
    """`normal`, `anomalous` or `not_tissue` (records without `verdict` fall back to `anomalous`)."""
    return rec.get("verdict") or ("anomalous" if rec["anomalous"] else "normal")


def verdict_changes(names: dict[str, list[str]], fp: dict[str, dict], bf: dict[str, dict]) -> dict:
    """Per set and over all sets: n, patches whose verdict differs, their fraction, and 'from→to' counts."""
    def count(ns):
        trans: dict[str, int] = {}
        for n in ns:
            a, b = verdict_of(fp[n]), verdict_of(bf[n])
            if a != b:
                trans[f"{a}→{b}"] = trans.get(f"{a}→{b}", 0) + 1
        changed = sum(trans.values())
        return {"n": len(ns), "changed": changed, "fraction": changed / len(ns) if ns else None,
                "transitions": dict(sorted(trans.items()))}
    out = {"sets": {s: count(ns) for s, ns in names.items()}}
    out["all"] = count([n for ns in names.values() for n in ns])
    return out


def auroc_deltas(res_fp: dict, res_bf: dict) -> dict:
    """{method: {kind: {fp32, bf16, delta}}} plus the normal false-positive rate under the key ``fpr_normal``."""
    out = {}
    for m in res_fp:
        row = {k: {"fp32": v["auroc"], "bf16": res_bf[m]["kinds"][k]["auroc"]} for k, v in res_fp[m]["kinds"].items()}
        row["fpr_normal"] = {"fp32": res_fp[m]["fpr_normal"], "bf16": res_bf[m]["fpr_normal"]}
        for v in row.values():
            v["delta"] = None if v["fp32"] is None or v["bf16"] is None else v["bf16"] - v["fp32"]
        out[m] = row
    return out


def checks(cmp: dict, auroc_tol: float, verdict_tol: float) -> list[tuple[str, bool, str]]:
    """The issue's must-show lines: per method, every kind's AUROC |Δ| and the all-sets verdict change fraction."""
    out = []
    for m, row in cmp["auroc"].items():
        ds = {k: abs(v["delta"]) for k, v in row.items() if k != "fpr_normal" and v["delta"] is not None}
        worst = max(ds, key=lambda k: (ds[k], k), default=None)
        w = ds.get(worst, 0.0)
        out.append((f"`{m}`: AUROC per artefact kind within {auroc_tol} of fp32", w <= auroc_tol,
                    f"max |Δ| {w:.4f}" + (f" (`{worst}`)" if w > 0 else "")))
        v = cmp["verdicts"][m]["all"]
        out.append((f"`{m}`: verdict changes ≤ {verdict_tol:.1%} of all patches", (v["fraction"] or 0.0) <= verdict_tol,
                    f"{v['changed']} of {v['n']} = {(v['fraction'] or 0.0):.2%}"))
    return out


def compare(names: dict[str, list[str]], scores: dict[str, dict[str, dict[str, dict]]], results: dict) -> dict:
    """Everything but the reconstruction: AUROC / FPR deltas, score drift, statistic drift, verdict changes."""
    fp, bf = scores["fp32"], scores["bf16"]
    every = [n for ns in names.values() for n in ns]
    first = next(iter(fp))
    stats = sorted(fp[first][every[0]]["statistics"]) if every else []
    return {
        "auroc": auroc_deltas(results["fp32"], results["bf16"]),
        "score": {m: drift([fp[m][n]["score"] for n in every], [bf[m][n]["score"] for n in every]) for m in fp},
        "statistics": {s: drift([fp[first][n]["statistics"][s] for n in every],
                                [bf[first][n]["statistics"][s] for n in every]) for s in stats},
        "verdicts": {m: verdict_changes(names, fp[m], bf[m]) for m in fp},
        "largest_move": {m: max(({"name": n, "fp32": fp[m][n]["score"], "bf16": bf[m][n]["score"]} for n in every),
                                key=lambda r: (abs(r["bf16"] - r["fp32"]), r["name"]), default=None) for m in fp},
        "changed": {m: [{"name": n, "set": k, "fp32": fp[m][n]["score"], "bf16": bf[m][n]["score"],
                         "from": verdict_of(fp[m][n]), "to": verdict_of(bf[m][n])}
                        for k, ns in names.items() for n in ns if verdict_of(fp[m][n]) != verdict_of(bf[m][n])]
                    for m in fp},
    }


# ----------------------------------------------------------------------------------------------- running
@contextlib.contextmanager
def precision_env(precision: str):
    """HISTOAE_PRECISION for every `histoae` the block starts (evaluate_scores.run_score inherits os.environ)."""
    old = os.environ.get("HISTOAE_PRECISION")
    os.environ["HISTOAE_PRECISION"] = precision
    try:
        yield
    finally:
        if old is None:
            del os.environ["HISTOAE_PRECISION"]
        else:
            os.environ["HISTOAE_PRECISION"] = old


def machine_and_gemm(a) -> dict:
    """`histoae machine`'s lines and, per precision, `histoae bench`'s throughput and precision/GEMM lines."""
    info = {"machine": subprocess.run([a.bin, "machine"], capture_output=True, text=True, check=True).stdout.strip()}
    for p in PRECISIONS:
        out = subprocess.run([a.bin, "bench", "--model", a.model, "--precision", p, "--seconds", str(a.bench_seconds),
                              "--detail", "reconstruction"] + (["--workers", str(a.workers)] if a.workers else []),
                             capture_output=True, text=True, check=True).stdout.splitlines()
        info[p] = {"throughput": out[0].strip() if out else "",
                   "path": next((ln[ln.index("GEMM:") + 5:].strip() for ln in out if "GEMM:" in ln), "?")}
    return info


def reconstruct(a, ea, paths: list[str], out: Path, blocks: Path | None = None) -> tuple[np.ndarray, float]:
    """`histoae reconstruct --format npy` of `paths` into `out`; with `blocks`, every block's output too
    (`--blocks`: one `<block>.npy` each)."""
    t = time.time()
    cmd = [a.bin, "reconstruct", "--model", a.model, "--format", "npy", "--output", str(out)]
    cmd += ["--blocks", str(blocks)] if blocks is not None else []
    r = subprocess.run(cmd + (["--workers", str(a.workers)] if a.workers else []) + paths, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"histoae reconstruct exited {r.returncode}:\n{r.stderr[-4000:]}")
    return np.load(out), time.time() - t


def patch_records(sets, scores_p: dict[str, dict]) -> list[dict]:
    return [{"name": p.name, "kind": kind,
             "methods": {m: {k: by[p.name][k] for k in ("score", "verdict", "anomalous", "deviation")}
                         for m, by in scores_p.items()},
             "statistics": next(iter(scores_p.values()))[p.name]["statistics"]}
            for kind, ps in sets.items() for p in ps]


# ----------------------------------------------------------------------------------------------- output
def _f(v, digits=3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _d(v) -> str:
    return "–" if v is None else f"{v:+.4f}"


def method_summary(verdict_lines, methods: list[str], default: str) -> str:
    """One sentence: which methods' fp32 calibration holds for bf16, the binary's default method first."""
    failed = [m for m in methods if any(not v for c, v, _ in verdict_lines if c.startswith(f"`{m}`"))]
    if not failed and all(v for _, v, _ in verdict_lines):
        return ("The fp32 calibration holds for bf16 within the issue's tolerances for every method: the card needs no "
                "bf16 calibration.")
    held = [m for m in methods if m not in failed]
    return (f"**The fp32 calibration does not hold for bf16 within the issue's tolerances for "
            f"{', '.join(f'`{m}`' for m in failed) or 'the run'}**"
            + (f"; it holds for {', '.join(f'`{m}`' for m in held)}" if held else "")
            + f". The default method (`{default}`) " + ("was not evaluated." if default not in methods else
                                                       "fails: bf16 needs its own calibration before its verdicts are "
                                                       "used." if default in failed else "passes."))


def block_table(rows: list[dict]) -> list[str]:
    """The per-block section: one row per block of `histoae reconstruct --blocks`."""
    if not rows:
        return ["Per block: not measured in this run (`--block-sample 0`)."]
    n = rows[0]["shape"][0]
    lines = [f"Per block (`histoae reconstruct --blocks`, the first {n} patches of that sample): |bf16 − fp32| of "
             "every block's output, one patch per pass as the engine runs them. Each block's input already carries "
             "the drift of the blocks before it; the last column is the block's largest |fp32| value, the scale to "
             "read the drift against.", "",
             "| block | output (N, C, H, W) | max | p99 | mean | max |fp32| |", "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| `{r['block']}` | {tuple(r['shape'])} | {_f(r['max'], 5)} | {_f(r['p99'], 5)} | "
                     f"{_f(r['mean'], 6)} | {_f(r['scale'], 4)} |")
    return lines


def markdown(a, info, counts, cmp, recon, timing, verdict_lines, command, card, default) -> str:
    methods = list(cmp["auroc"])
    total = sum(counts.values())
    lines = [
        "# bf16 against fp32",
        "",
        "Generated by `training/scripts/evaluate_precision.py` (issue 19); do not edit by hand. Run "
        f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} with",
        "", "```", command, "```", "",
        f"Model `{card.get('name')}` {card.get('version')} (weights sha256 "
        f"`{str(card.get('weights', {}).get('sha256', ''))[:16]}…`), calibrated in fp32 on "
        f"{card.get('calibration', {}).get('patches', '?')} patches. Sets: evaluate_scores.py's, seed {a.seed}"
        + (f", **capped at {a.max_per_set} patches per set**" if a.max_per_set else " (the full sets of "
           "[evaluation.md](evaluation.md))") + f": {total} patches ("
        + ", ".join(f"{k} {n}" for k, n in counts.items()) + ").",
        "", "Machine (`histoae machine`):", "", "```", info["machine"], "```", "",
        f"Every `histoae` here ran with `HISTOAE_GEMM={os.environ.get('HISTOAE_GEMM', '')}`: `avx512-bf16` runs "
        "bf16 on its kernel even on CPUs where `--precision bf16` alone would run fp32 because bf16 does not pay "
        "there (Intel's AVX512-BF16).", "",
        "GEMM path and speed per precision (`histoae bench --detail reconstruction`, a shared machine: speed "
        "is indicative):", "",
        "| precision | GEMM | forward pass |", "|---|---|---|",
    ]
    lines += [f"| {p} | {info[p]['path']} | {info[p]['throughput']} |" for p in PRECISIONS]
    lines += ["", "## Result", ""]
    lines += [f"* **{'PASS' if v else 'FAIL'}** {label}: {detail}" for label, v, detail in verdict_lines]
    lines += ["", f"Every method is checked; `histoae score`'s default is `{default}`. "
              + method_summary(verdict_lines, methods, default)]
    lines += ["", "## Reconstruction (whole model)", "",
              f"`histoae reconstruct --format npy` of {recon['patches']} normal patches (seeded sample), "
              "|bf16 − fp32| over every output value in the normalized [−1, 1] space:", "",
              "| values | max | p99 | mean | median over patches of the patch's max |", "|---:|---:|---:|---:|---:|",
              f"| {recon['drift']['n']} | {_f(recon['drift']['max'], 5)} | {_f(recon['drift']['p99'], 5)} | "
              f"{_f(recon['drift']['mean'], 6)} | {_f(recon['patch_max_median'], 5)} |", "",
              ]
    lines += block_table(recon.get("blocks") or [])
    lines += ["", "## Scores", "",
              "Per-patch |bf16 − fp32| of the calibrated score (1 − false-positive rate, in [0, 1]) over all "
              f"{total} patches:", "",
              "| method | max | p99 | mean | largest move: patch, fp32 → bf16 |", "|---|---:|---:|---:|---|"]
    for m, s in cmp["score"].items():
        w = cmp["largest_move"][m]
        lines.append(f"| `{m}` | {_f(s['max'], 4)} | {_f(s['p99'], 4)} | {_f(s['mean'], 5)} | "
                     + (f"`{w['name']}`, {w['fp32']:.4f} → {w['bf16']:.4f} |" if w else "– |"))
    lines += ["", "The statistics the scores are built from (method-independent), |bf16 − fp32|:", "",
              "| statistic | max | p99 | mean |", "|---|---:|---:|---:|"]
    lines += [f"| `{k}` | {s['max']:.3g} | {s['p99']:.3g} | {s['mean']:.3g} |" for k, s in cmp["statistics"].items()]
    lines += ["", "## Verdicts", "",
              "Patches whose verdict (normal / anomalous / not_tissue) differs between fp32 and bf16, per set:", "",
              "| set | n | " + " | ".join(f"`{m}`" for m in methods) + " |", "|---|---:|" + "---:|" * len(methods)]
    sets_order = list(cmp["verdicts"][methods[0]]["sets"])
    for s in sets_order + ["all"]:
        cells = []
        for m in methods:
            v = cmp["verdicts"][m]["all"] if s == "all" else cmp["verdicts"][m]["sets"][s]
            cells.append(f"{v['changed']} ({v['fraction']:.2%})" if v["n"] else "–")
        n = cmp["verdicts"][methods[0]]["all"]["n"] if s == "all" else counts[s]
        lines.append(f"| {'**all sets**' if s == 'all' else s} | {n} | " + " | ".join(cells) + " |")
    trans = [f"`{m}`: " + ", ".join(f"{k} {n}" for k, n in cmp["verdicts"][m]["all"]["transitions"].items())
             for m in methods if cmp["verdicts"][m]["all"]["transitions"]]
    lines += ["", "Directions: " + ("; ".join(trans) if trans else "none") + "."]
    changed = [(m, c) for m in methods for c in cmp["changed"][m]]
    if changed:
        lines += ["", "Every changed patch (the method's threshold is in the score's units):", "",
                  "| method | patch | fp32 score, verdict | bf16 score, verdict |", "|---|---|---|---|"]
        lines += [f"| `{m}` | `{c['name']}` | {c['fp32']:.5f} {c['from']} | {c['bf16']:.5f} {c['to']} |"
                  for m, c in changed[:100]] + ([f"| … {len(changed) - 100} more in precision.json | | | |"]
                                                if len(changed) > 100 else [])
    lines += ["", "## AUROC per artefact kind and false-positive rate", "",
              "Each cell: fp32 → bf16 (Δ). Normal held-out patches are the negatives.", "",
              "| kind | n | " + " | ".join(f"`{m}`" for m in methods) + " |", "|---|---:|" + "---|" * len(methods)]
    for k in [*(x.key for x in es.KINDS), "fpr_normal"]:
        label = "**normal: false-positive rate**" if k == "fpr_normal" else f"`{k}`"
        n = counts.get("normal" if k == "fpr_normal" else k, 0)
        lines.append(f"| {label} | {n} | " + " | ".join(
            f"{_f(c['fp32'])} → {_f(c['bf16'])} ({_d(c['delta'])})" for c in (cmp["auroc"][m][k] for m in methods)) + " |")
    lines += ["", "## Time", "",
              f"Sets {timing['sets']:.0f} s. `histoae score` (--workers {a.workers or 'default'}) per method, "
              f"{total} patches: " + "; ".join(
                  f"{p} " + ", ".join(f"`{m}` {timing[p][m]:.0f} s" for m in methods) for p in PRECISIONS)
              + f". Reconstruction: fp32 {timing['recon']['fp32']:.1f} s, bf16 {timing['recon']['bf16']:.1f} s. "
              f"Total {timing['total']:.0f} s.", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="models/default", help="model folder (model.safetensors + model.json)")
    p.add_argument("--bin", default=".build/release/histoae", help="the histoae binary")
    p.add_argument("--data-root", default=str(REPO.parent / "shared/data"))
    p.add_argument("--config", default=str(REPO / "training/configs/default.json"))
    p.add_argument("--work", help="folder for the sets and each precision's outputs (default: temporary, removed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", default=",".join(es.METHODS))
    p.add_argument("--max-per-set", type=int, help="cap every set at this many patches (random, seeded)")
    p.add_argument("--workers", type=int, help="histoae --workers")
    p.add_argument("--batch", type=int, help="histoae score --batch")
    p.add_argument("--recon-sample", type=int, default=128, help="normal patches reconstructed in both (default 128)")
    p.add_argument("--block-sample", type=int, default=16,
                   help="of those, how many also have every block's output compared (default 16, at most 32; 0: none)")
    p.add_argument("--bench-seconds", type=float, default=5.0, help="histoae bench --seconds per precision")
    p.add_argument("--auroc-tolerance", type=float, default=0.005)
    p.add_argument("--verdict-tolerance", type=float, default=0.005, help="fraction of patches (0.005 = 0.5 %%)")
    p.add_argument("--markdown", default=str(REPO / "docs/precision.md"))
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    # The drift is the bf16 kernel's wherever the CPU has its instructions: on a CPU where bf16 would not pay
    # (Intel's AVX512-BF16), `--precision bf16` alone resolves to fp32 and there would be nothing to measure.
    os.environ.setdefault("HISTOAE_GEMM", "avx512-bf16")
    argv_used = sys.argv[1:] if argv is None else list(argv)
    # The scratch folder does not change a figure, and names one machine's path: left out of the record.
    argv_used = [x for i, x in enumerate(argv_used)
                 if not (x == "--work" or x.startswith("--work=") or (i > 0 and argv_used[i - 1] == "--work"))]
    command = "python3 training/scripts/evaluate_precision.py" + "".join(" " + shlex.quote(x) for x in argv_used)
    fwd = ["--model", a.model, "--bin", a.bin, "--data-root", a.data_root, "--config", a.config,
           "--seed", str(a.seed), "--methods", a.methods]
    for flag, v in (("--max-per-set", a.max_per_set), ("--workers", a.workers), ("--batch", a.batch)):
        fwd += [flag, str(v)] if v else []
    ea = es.parse_args(fwd)  # evaluate_scores.py's options, its set-building defaults included
    methods = [m for m in a.methods.split(",") if m]
    if bad := [m for m in methods if m not in es.METHODS]:
        raise SystemExit(f"unknown method {bad[0]!r}; one of {', '.join(es.METHODS)}")
    if not Path(a.bin).exists():
        raise SystemExit(f"{a.bin}: no such binary (swift build -c release)")
    if not 0 <= a.block_sample <= 32:
        raise SystemExit(f"--block-sample {a.block_sample}: 0 … 32 (histoae reconstruct --blocks takes at most 32)")
    card_path = Path(a.model) / "model.json" if Path(a.model).is_dir() else Path(a.model).with_name("model.json")
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    ranked = [k.key for k in es.KINDS if k.ranked]
    t_start = time.time()
    info = machine_and_gemm(a)
    print(f"fp32: {info['fp32']['path']}\nbf16: {info['bf16']['path']}", file=sys.stderr)

    t0 = time.time()
    sets = es.build_sets(ea)
    timing: dict = {"sets": time.time() - t0, "recon": {}}
    tmp = None
    if a.work:
        work = Path(a.work)
        for d in ("sets", *PRECISIONS):
            shutil.rmtree(work / d, ignore_errors=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="histoae-precision-")
        work = Path(tmp.name)
    es.write_sets(sets, work / "sets")
    counts = {k: len(v) for k, v in sets.items()}
    names = {k: [p.name for p in v] for k, v in sets.items()}
    print(f"sets ({timing['sets']:.0f} s): " + ", ".join(f"{k} {n}" for k, n in counts.items()), file=sys.stderr)
    inputs = [str(work / "sets" / k) for k in sets if sets[k]]
    rng = np.random.default_rng([a.seed, 200])
    sample = [str(work / "sets" / "normal" / p.name) for p in es.pick(sets["normal"], a.recon_sample, rng)]

    scores: dict = {}
    results: dict = {}
    recons: dict = {}
    for prec in PRECISIONS:
        (work / prec).mkdir(parents=True, exist_ok=True)
        scores[prec], timing[prec] = {}, {}
        with precision_env(prec):
            for m in methods:
                recs, dt = es.run_score(ea, m, inputs)
                scores[prec][m] = {Path(r["path"]).name: r for r in recs}
                if missing := [n for ns in names.values() for n in ns if n not in scores[prec][m]]:
                    raise RuntimeError(f"{len(missing)} patches missing from the output, e.g. {missing[0]}")
                timing[prec][m] = dt
                print(f"{prec} {m}: {len(recs)} patches in {dt:.1f} s", file=sys.stderr)
            recons[prec], timing["recon"][prec] = reconstruct(a, ea, sample, work / prec / "reconstruction.npy")
            if a.block_sample:
                reconstruct(a, ea, sample[:a.block_sample], work / prec / "blocks-reconstruction.npy",
                            blocks=work / prec / "blocks")
        results[prec] = es.evaluate(sets, scores[prec], ranked)
        doc = {"command": command, "precision": prec, "gemm": info[prec]["path"], "seed": a.seed, "counts": counts,
               "seconds": timing[prec], "results": results[prec]}
        (work / prec / "evaluation.json").write_text(es.dump_json(doc, patch_records(sets, scores[prec])))

    cmp = compare(names, scores, results)
    per_patch = np.abs(recons["fp32"].astype(np.float64) - recons["bf16"]).reshape(len(sample), -1).max(axis=1)
    recon = {"patches": len(sample), "shape": list(recons["fp32"].shape), "drift": drift(recons["fp32"], recons["bf16"]),
             "patch_max_median": float(np.median(per_patch)) if len(sample) else None,
             "blocks": block_drift(work / "fp32" / "blocks", work / "bf16" / "blocks") if a.block_sample and sample else []}
    verdict_lines = checks(cmp, a.auroc_tolerance, a.verdict_tolerance)
    ran_bf16 = "bf16" in info["bf16"]["path"] and (recon["drift"]["max"] or 0.0) > 0.0
    if not ran_bf16:
        verdict_lines.insert(0, ("the bf16 kernel ran", False, f"bench says `{info['bf16']['path']}`, "
                                 f"reconstruction max |Δ| {recon['drift']['max']}"))
    timing["total"] = time.time() - t_start
    (work / "precision.json").write_text(json.dumps(
        {"command": command, "machine": info, "counts": counts, "comparison": cmp, "reconstruction": recon,
         "checks": [{"check": c, "pass": v, "detail": d} for c, v, d in verdict_lines], "seconds": timing}, indent=1))
    default = es.binary_default_method(ea, Path(sample[0])) if sample else "?"
    text = markdown(a, info, counts, cmp, recon, timing, verdict_lines, command, card, default)
    Path(a.markdown).parent.mkdir(parents=True, exist_ok=True)
    Path(a.markdown).write_text(text)
    for c, v, d in verdict_lines:
        print(f"{'PASS' if v else 'FAIL'} {c}: {d}")
    print(f"wrote {a.markdown}" + ("" if tmp else f", {work}/precision.json, {work}/{{fp32,bf16}}/"), file=sys.stderr)
    if tmp is not None:
        tmp.cleanup()
    return 2 if not ran_bf16 else 0 if all(v for _, v, _ in verdict_lines) else 1


if __name__ == "__main__":
    sys.exit(main())
