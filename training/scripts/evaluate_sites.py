#!/usr/bin/env python3
"""Cross-site evaluation of `histoae score`: normal tissue from sites the model never saw, against artefacts.

Builds the other-site normals named in ``training/scripts/other_sites.json`` (NCT-CRC-HE-100K tiles, a benign
prostate biopsy, the lymphoid areas of a TMA core; see ``../shared/data/other-sites/README.md``), a tumour set
(unranked), the pen / ink_edge / blank / ihc sets of evaluate_scores.py (same builders, same seeds) and
restain_hdab / blur_s2 / blur_s4 made from the other-site normals. Then

  1. ``histoae score --method M --format json`` once per method over every set (default calibration);
  2. splits each site's normals into disjoint halves A and B, ``histoae calibrate`` on each half, and scores
     each half with the other half's card (``--method signals``, the binary's default threshold);
  3. writes the false-positive rate per site and pooled (default and site calibration), the AUROC of every
     method (normals vs each artefact kind, macro mean), the detection rate per flag, the verdicts per set
     and the issue's must-show checks (PASS/FAIL) into docs/evaluation.md between the CROSS-SITE markers, and
     every number and patch record into docs/evaluation_sites.json.

Usage (from the repository root; the binary is built with `swift build -c release`):

  python3 training/scripts/evaluate_sites.py --model models/default [--bin .build/release/histoae]
      [--data-root ../shared/data] [--work DIR] [--seed 0] [--workers N] [--sets-only]

evaluate_scores.py calls this at its end (unless ``--no-sites``), passing its pen / ink_edge / blank / ihc
patches and their records so they are scored once.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

import evaluate_scores as es  # noqa: E402
import site_markdown  # noqa: E402
import site_report  # noqa: E402
import site_sets  # noqa: E402

SHARED_KINDS = ("pen", "ink_edge", "blank", "ihc")  # built by evaluate_scores.py's builders
DERIVED = {"restain_hdab": es.restain_hdab,
           "blur_s2": lambda rgb: es.gaussian_blur(rgb, 2.0), "blur_s4": lambda rgb: es.gaussian_blur(rgb, 4.0)}
RANKED = [*SHARED_KINDS, *DERIVED]
METHODS = ("signals", "combined", "one_sided_dssim", "two_sided_log_ssim", "two_sided_log_dssim")


def shared_artefacts(ea: argparse.Namespace) -> dict[str, list]:
    """pen, ink_edge, blank, ihc exactly as evaluate_scores.build_sets makes them (same seeds per kind)."""
    data_root = Path(ea.data_root)
    sources = es.slide_sources(es.load_config(ea.config), data_root)
    rng = lambda k: np.random.default_rng([ea.seed, k])  # noqa: E731
    index = {k.key: i for i, k in enumerate(es.KINDS, start=1)}
    builders = {"pen": lambda r: es.build_pen(data_root, ea, r),
                "ink_edge": lambda r: es.build_ink_edge(sources, ea, r),
                "blank": lambda r: es.build_blank(sources, data_root, ea, r), "ihc": lambda r: es.build_ihc(ea, r)}
    out = {k: es.pick(fn(rng(index[k])), ea.max_per_set, rng(100 + index[k])) for k, fn in builders.items()}
    for s in sources:
        s.slide.close()
    return out


def build_sets(a: argparse.Namespace, ea: argparse.Namespace, spec: dict, given: dict | None) -> dict[str, list]:
    data_root = Path(a.data_root)
    normals = site_sets.build_site_normals(spec, data_root, a.seed)
    for p, h in zip(normals, site_sets.split_halves(normals, a.seed)):
        p.info["half"] = h
    sets = {site_sets.NORMAL: normals}
    sets.update({k: v[0] for k, v in given.items()} if given else shared_artefacts(ea))
    sets.update({k: site_sets.derived(normals, k, fn) for k, fn in DERIVED.items()})
    sets[site_sets.TUMOUR] = site_sets.build_tumour(spec, data_root, a.seed)
    return sets


def file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def calibrate(a: argparse.Namespace, folder: Path, out: Path, source: str) -> dict:
    """``histoae calibrate`` on one half; returns the new card's version and what the binary printed."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [a.bin, "calibrate", "--model", a.model, "--source", source, "--output", str(out), str(folder)]
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"histoae calibrate exited {r.returncode}:\n{r.stdout[-2000:]}{r.stderr[-4000:]}")
    card = json.loads((out / "model.json").read_text())
    return {"version": card.get("version"), "patches": card.get("calibration", {}).get("patches"),
            "seconds": time.time() - t,  # the work folder is temporary: named <work>, not by its machine path
            "output": (r.stdout + r.stderr).replace(str(out.parent), "<work>").strip().splitlines()}


def score_all(a, sets: dict, given: dict | None, work: Path, methods: list[str]) -> tuple[dict, dict]:
    """Records per method; the given kinds' records are reused where the caller scored that method."""
    scores: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    for m in methods:
        scores[m] = {}
        todo = [k for k in sets if sets[k] and not (given and k in given and m in given[k][1])]
        for k in sets:
            if given and k in given and m in given[k][1]:
                scores[m].update({p.name: given[k][1][m][p.name] for p in sets[k]})
        recs, seconds[f"score {m}"] = es.run_score(a, m, [str(work / "sets" / k) for k in todo]) if todo else ([], 0.0)
        scores[m].update({Path(r["path"]).name: r for r in recs})
        missing = [p.name for ps in sets.values() for p in ps if p.name not in scores[m]]
        if missing:
            raise RuntimeError(f"{m}: {len(missing)} patches missing from the output, e.g. {missing[0]}")
        print(f"{m}: {len(recs)} patches in {seconds[f'score {m}']:.1f} s", file=sys.stderr)
    return scores, seconds


def site_calibrated(a, normals: list, work: Path) -> tuple[dict, dict]:
    """Calibrate on each half, score the other half with that card: {name: record}, {half: calibration}."""
    cards, recal = {}, {}
    for h in ("A", "B"):
        d = work / "halves" / h
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        mine = [p for p in normals if p.info["half"] == h]
        if len(mine) < 50:
            raise SystemExit(f"half {h} has {len(mine)} normals; histoae calibrate needs at least 50")
        for p in mine:
            shutil.copyfile(work / "sets" / site_sets.NORMAL / p.name, d / p.name)
        per_site = ", ".join(f"{s}: {sum(p.info['site'] == s for p in mine)}"
                             for s in dict.fromkeys(p.info["site"] for p in mine))
        cards[h] = calibrate(a, d, work / f"card_{h}", f"other-site normals, half {h} ({per_site})")
    for h, other in (("A", "B"), ("B", "A")):
        b = argparse.Namespace(**{**vars(a), "model": str(work / f"card_{other}")})
        recs, _ = es.run_score(b, site_report.PRIMARY, [str(work / "halves" / h)])
        recal.update({Path(r["path"]).name: r for r in recs})
    return recal, cards


def patch_records(sets: dict, scores: dict, recal: dict) -> list[dict]:
    keep = ("score", "verdict", "flags", "deviation", "score_statistic")
    prim = scores[site_report.PRIMARY]
    out = []
    for kind, ps in sets.items():
        for p in ps:
            rec = {"name": p.name, "kind": kind, "source": p.source, "where": p.where, **p.info,
                   "statistics": prim[p.name]["statistics"], "signals": prim[p.name].get("signals"),
                   "methods": {m: {k: s[p.name].get(k) for k in keep} for m, s in scores.items()}}
            if p.name in recal:
                rec["site_calibrated"] = {k: recal[p.name].get(k) for k in keep}
            out.append(rec)
    return out


def run(a: argparse.Namespace, ea: argparse.Namespace, command: str, given: dict | None = None) -> int:
    spec = site_sets.load_site_list(Path(a.site_list))
    methods = [m for m in a.methods.split(",") if m]
    if site_report.PRIMARY not in methods:
        raise SystemExit(f"--methods must include {site_report.PRIMARY}")
    t0 = time.time()
    sets = build_sets(a, ea, spec, given)
    normals = sets[site_sets.NORMAL]
    if site_sets.overlaps_across_halves(normals, [p.info["half"] for p in normals]):
        raise RuntimeError("crops in different halves overlap: check split_unit in the site list")
    tmp = None if a.work else tempfile.TemporaryDirectory(prefix="histoae-sites-")
    work = Path(a.work or tmp.name)
    shutil.rmtree(work / "sets", ignore_errors=True)
    es.write_sets(sets, work / "sets")
    groups = {f"{site_sets.NORMAL}/{s['site']}": [p for p in normals if p.info["site"] == s["site"]]
              for s in spec["sites"]}
    groups["adipose"] = [p for p in normals if site_sets.is_adipose(spec, p)]
    counts = {**{k: len(v) for k, v in sets.items()}, **{g: len(v) for g, v in groups.items()}}
    seconds = {"sets": time.time() - t0}
    print(f"sets ({seconds['sets']:.0f} s): " + ", ".join(f"{k} {n}" for k, n in counts.items()), file=sys.stderr)
    halves = {s["site"]: {h: sum(p.info["half"] == h for p in groups[f"{site_sets.NORMAL}/{s['site']}"])
                          for h in ("A", "B")} for s in spec["sites"]}
    if a.sets_only:
        print(f"halves: {json.dumps(halves)}; written under {work / 'sets'}", file=sys.stderr)
        return 0
    if not Path(a.bin).exists():
        raise SystemExit(f"{a.bin}: no such binary (swift build -c release)")
    binary = file_sha256(a.bin)
    scores, t_score = score_all(a, sets, given, work, methods)
    recal, cards = site_calibrated(a, normals, work)
    if file_sha256(a.bin) != binary:  # a shared tree: someone rebuilt it while we ran
        raise SystemExit(f"{a.bin} changed during the run: the figures would mix two binaries; run again")
    seconds.update(t_score)
    seconds["calibrate A, B"] = sum(c["seconds"] for c in cards.values())
    summary = site_report.evaluate(sets, scores, recal, RANKED, groups)
    card_path = Path(a.model) / "model.json"
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    created = _dt.datetime.now(_dt.timezone.utc)
    doc = {"command": command, "created": created.isoformat(timespec="seconds"),
           "model": {"path": a.model, "name": card.get("name"), "version": card.get("version"),
                     "weights_sha256": card.get("weights", {}).get("sha256")},
           "binary": {"path": a.bin, "sha256": binary},
           "seed": a.seed, "site_list": spec, "counts": counts, "halves": halves, "ranked_kinds": RANKED,
           "site_cards": cards, "seconds": seconds, "results": summary}
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(es.dump_json(doc, [] if a.no_patch_records else patch_records(sets, scores, recal)))
    ctx = {"command": command, "created": created.strftime("%Y-%m-%d %H:%M UTC"), "card": card, "spec": spec,
           "counts": counts, "total": sum(len(v) for v in sets.values()), "halves": halves, "site_cards": {h: c["version"] for h, c in cards.items()},
           "ranked": RANKED, "seconds": seconds, "json_name": Path(a.json).name, "methods": methods}
    block = site_markdown.render(summary, ctx)
    site_markdown.write_section(Path(a.markdown), block)
    print(block)
    print(f"\nwrote {a.markdown} (cross-site section), {a.json}", file=sys.stderr)
    if tmp is not None:
        tmp.cleanup()
    return 0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="models/default", help="model folder (model.safetensors + model.json)")
    p.add_argument("--bin", default=".build/release/histoae", help="the histoae binary")
    p.add_argument("--data-root", default=str(es.REPO.parent / "shared/data"))
    p.add_argument("--config", default=str(es.REPO / "training/configs/default.json"),
                   help="training config (the slides of the ink_edge and blank sets)")
    p.add_argument("--site-list", default=str(site_sets.SITE_LIST), help="the other-site crop list")
    p.add_argument("--work", help="folder for the patch sets and site cards (default: a temporary folder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated; must include {METHODS[0]}")
    p.add_argument("--max-per-set", type=int, help="cap the pen / ink_edge / blank / ihc sets (random, seeded)")
    p.add_argument("--workers", "--threads", dest="workers", type=int, help="histoae score --workers (--threads: old name)")
    p.add_argument("--markdown", default=str(es.REPO / "docs/evaluation.md"))
    p.add_argument("--json", default=str(es.REPO / "docs/evaluation_sites.json"))
    p.add_argument("--no-patch-records", action="store_true", help="leave the per-patch records out of the JSON")
    p.add_argument("--sets-only", action="store_true", help="build and write the sets into --work, then stop")
    p.set_defaults(batch=None)  # es.run_score's --batch: the binary's default
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    argv_used = sys.argv[1:] if argv is None else list(argv)
    command = "python3 training/scripts/evaluate_sites.py" + "".join(" " + shlex.quote(x) for x in argv_used)
    ea = es.parse_args(["--data-root", a.data_root, "--config", a.config, "--seed", str(a.seed)]
                       + (["--max-per-set", str(a.max_per_set)] if a.max_per_set else []))
    return run(a, ea, command)


def run_after_scores(ea: argparse.Namespace, sets: dict, scores: dict, command: str) -> int:
    """evaluate_scores.py's hand-over: its options, its pen / ink_edge / blank / ihc patches and records."""
    argv = ["--model", ea.model, "--bin", ea.bin, "--data-root", ea.data_root, "--config", ea.config,
            "--seed", str(ea.seed), "--markdown", ea.markdown,
            "--methods", ",".join(dict.fromkeys([site_report.PRIMARY, *ea.methods.split(",")])),
            "--json", str(Path(ea.json).with_name("evaluation_sites.json"))]
    argv += ["--workers", str(ea.workers)] if ea.workers else []
    argv += ["--work", str(Path(ea.work) / "sites")] if ea.work else []
    argv += ["--no-patch-records"] if ea.no_patch_records else []
    a = parse_args(argv)
    a.batch = ea.batch
    given = {k: (sets[k], {m: s for m, s in scores.items()}) for k in SHARED_KINDS if k in sets}
    return run(a, ea, command, given)


if __name__ == "__main__":
    sys.exit(main())
