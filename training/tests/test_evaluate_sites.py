"""The cross-site evaluation (training/scripts/evaluate_sites.py and its site_* modules): crop lists, disjoint
halves, the figures from score records, the must-show checks, the Markdown section, and the whole run against
a stand-in `histoae` that speaks the command-line contract (scoring v2, section 8)."""

import argparse
import json
import stat
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SCRIPTS = Path(__file__).resolve().parents[2] / "training" / "scripts"
sys.path.insert(0, str(SCRIPTS))

import evaluate_scores as es  # noqa: E402
import evaluate_sites  # noqa: E402
import site_markdown  # noqa: E402
import site_report  # noqa: E402
import site_sets  # noqa: E402

SHARED_SITES = Path(__file__).resolve().parents[3] / "shared" / "data" / "other-sites"
PINK, WHITE = (200, 120, 170), (250, 250, 250)


def patch(site, group, x=0, y=0, file="f.png", kind="site_normal", name=""):
    return es.Patch(name, kind, file, f"{x},{y}", np.zeros((150, 150, 3), np.uint8),
                    {"site": site, "group": group, "file": file, "x": x, "y": y})


def rec(score=0.5, verdict="normal", flags=(), threshold=0.99):
    return {"score": score, "verdict": verdict, "flags": list(flags), "threshold": threshold,
            "threshold_source": "default (fpr 0.01)"}


# ------------------------------------------------------------------------------------------ crops and halves
def test_crop_positions_of_offsets_cells_and_grid():
    assert site_sets.crop_positions({"file": "f", "offsets": [[0, 0], [74, 74]]}, 224, 224, 150) == [(0, 0), (74, 74)]
    assert site_sets.crop_positions({"file": "f", "cells": [[2, 1], [0, 3]], "cell": 150}, 1380, 1484, 150) == \
        [(300, 150), (0, 450)]
    assert site_sets.crop_positions({"file": "f", "grid": 50}, 250, 150, 150) == [(0, 0), (50, 0), (100, 0)]
    assert len(site_sets.crop_positions({"file": "f", "grid": 150}, 2500, 2500, 150)) == 16 * 16
    with pytest.raises(ValueError, match="outside"):
        site_sets.crop_positions({"file": "f", "cells": [[9, 0]]}, 1380, 1484, 150)  # x 1350..1500 > 1380
    with pytest.raises(ValueError, match="outside"):
        site_sets.crop_positions({"file": "f", "offsets": [[75, 0]]}, 224, 224, 150)


def test_entry_patches_filter_pick_and_scale(tmp_path):
    img = np.full((300, 600, 3), WHITE, np.uint8)
    img[:, :300] = PINK  # left half tissue: crops at x 0, 150 keep, 300, 450 are glass
    Image.fromarray(img).save(tmp_path / "a.png")
    entry = {"file": "a.png", "grid": 150, "min_tissue_fraction": 0.5}
    got = site_sets.entry_patches(entry, tmp_path, 150, "site_normal", "s", np.random.default_rng(0))
    assert [(p.info["x"], p.info["y"]) for p in got] == [(0, 0), (150, 0), (0, 150), (150, 150)]
    assert all(p.info["tissue_fraction"] >= 0.5 and p.rgb.shape == (150, 150, 3) for p in got)
    picked = [site_sets.entry_patches({**entry, "pick": 2}, tmp_path, 150, "k", "s", np.random.default_rng(7))
              for _ in range(2)]
    assert len(picked[0]) == 2 and [p.where for p in picked[0]] == [p.where for p in picked[1]]
    half = site_sets.entry_patches({"file": "a.png", "grid": 50, "scale": 0.5}, tmp_path, 150, "k", "s",
                                   np.random.default_rng(0))
    assert [p.where for p in half] == ["0,0(x0.5)", "50,0(x0.5)", "100,0(x0.5)", "150,0(x0.5)"]  # 300x150 image


def test_split_keeps_groups_whole_balances_each_site_and_is_seeded():
    ps = [patch("nct", f"tile{t}", x, y, file=f"tile{t}") for t in range(5) for x, y in
          ((0, 0), (74, 0), (0, 74), (74, 74))]
    ps += [patch("prostate", f"p{i}", 150 * (i % 16), 150 * (i // 16), file="big") for i in range(96)]
    ps += [patch("tma", f"t{i}", 150 * i, 0, file="core") for i in range(15)]
    halves = site_sets.split_halves(ps, seed=0)
    assert halves == site_sets.split_halves(ps, seed=0)
    assert halves != site_sets.split_halves(ps, seed=1)
    for g in {p.info["group"] for p in ps}:
        assert len({h for p, h in zip(ps, halves) if p.info["group"] == g}) == 1
    for site, unit in (("nct", 4), ("prostate", 1), ("tma", 1)):
        a = sum(h == "A" for p, h in zip(ps, halves) if p.info["site"] == site)
        b = sum(h == "B" for p, h in zip(ps, halves) if p.info["site"] == site)
        assert abs(a - b) <= unit, (site, a, b)
    assert abs(halves.count("A") - halves.count("B")) <= 4
    assert site_sets.overlaps_across_halves(ps, halves) == []


def test_overlap_across_halves_is_found():
    a, b, c = patch("s", "1", 0, 0), patch("s", "2", 74, 74), patch("s", "3", 150, 0)
    assert site_sets.overlaps_across_halves([a, b], ["A", "B"]) == [("f.png@0,0", "f.png@74,74")]
    assert site_sets.overlaps_across_halves([a, b], ["A", "A"]) == []
    assert site_sets.overlaps_across_halves([a, c], ["A", "B"]) == []  # edge to edge: no shared pixel


def test_the_committed_site_list_on_the_shared_images():
    if not SHARED_SITES.exists():
        pytest.skip(f"{SHARED_SITES} not present")
    spec = site_sets.load_site_list()
    normals = site_sets.build_site_normals(spec, SHARED_SITES.parent, seed=0)
    by_site = {s: sum(p.info["site"] == s for p in normals) for s in ("nct-crc", "prostate", "tma")}
    assert by_site == {"nct-crc": 20, "prostate": 96, "tma": 15}
    assert sum(site_sets.is_adipose(spec, p) for p in normals) == 4
    assert len(site_sets.build_tumour(spec, SHARED_SITES.parent, seed=0)) == 13
    halves = site_sets.split_halves(normals, seed=0)
    assert min(halves.count("A"), halves.count("B")) >= 50  # histoae calibrate's minimum
    assert site_sets.overlaps_across_halves(normals, halves) == []


def test_site_list_errors_name_the_missing_key(tmp_path):
    spec = json.loads(site_sets.SITE_LIST.read_text())
    del spec["sites"][1]["why_normal"]
    (tmp_path / "s.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="'prostate' has no 'why_normal'"):
        site_sets.load_site_list(tmp_path / "s.json")


# ------------------------------------------------------------------------------------------ figures
def test_rates_count_every_non_normal_verdict_and_each_flag():
    recs = [rec(), rec(verdict="anomalous", flags=["stain"]), rec(verdict="not_tissue", flags=["background"]),
            rec(flags=["blur"])]
    assert site_report.false_positive_rate(recs) == {"n": 4, "false_positives": 2, "fpr": 0.5}
    assert site_report.verdict_shares(recs) == {"n": 4, "normal": 0.5, "anomalous": 0.25, "not_tissue": 0.25}
    assert site_report.flag_rates(recs) == {"n": 4, "high_error": 0.0, "stain": 0.25, "blur": 0.25,
                                            "background": 0.25, "any": 0.75}
    with pytest.raises(ValueError, match="predates scoring v2"):
        site_report.false_positive_rate([{"score": 0.2, "anomalous": False}])


def test_auroc_table_macro_and_worst():
    t = site_report.auroc_table([0.1, 0.2, 0.3], {"pen": [0.9, 0.8], "blur_s2": [0.1, 0.2, 0.3],
                                                  "tumour": [0.0]}, ranked=["pen", "blur_s2"])
    assert t["kinds"]["pen"]["auroc"] == 1.0 and t["kinds"]["blur_s2"]["auroc"] == 0.5
    assert t["kinds"]["tumour"] == {"n": 1, "auroc": 0.0}
    assert t["macro"] == 0.75 and t["worst"] == 0.5 and t["worst_kind"] == "blur_s2"


def synthetic_run(fpr_default: int, fpr_site: int, blank_glass: int, adipose_normal: int):
    """10 normals (site a: 6, b: 4), 2 adipose, 10 blank, 10 pen; counts are out of 10 (of 2 for adipose)."""
    normals = [patch("a" if i < 6 else "b", str(i), name=f"n{i}") for i in range(10)]
    for p, h in zip(normals, "ABABABABAB"):
        p.info["half"] = h
    blank = [patch("g", str(i), kind="blank", name=f"b{i}") for i in range(10)]
    pen = [patch("g", str(i), kind="pen", name=f"p{i}") for i in range(10)]
    sets = {"site_normal": normals, "blank": blank, "pen": pen}
    adipose = [patch("a", "ad", name=f"ad{i}") for i in range(2)]  # a row of its own: leaves the FPR alone
    verdict = lambda i, bad: "normal" if i >= bad else "anomalous"  # noqa: E731
    prim = {p.name: rec(0.1 * i, verdict(i, fpr_default)) for i, p in enumerate(normals)}
    prim.update({p.name: rec(0.05, "normal" if i < adipose_normal else "anomalous") for i, p in enumerate(adipose)})
    prim.update({p.name: rec(0.99, "not_tissue" if i < blank_glass else "anomalous", ["background"])
                 for i, p in enumerate(blank)})
    prim.update({p.name: rec(0.95 + 0.001 * i, "anomalous", ["stain"]) for i, p in enumerate(pen)})
    recal = {p.name: rec(0.2, verdict(i, fpr_site)) for i, p in enumerate(normals)}
    groups = {"site_normal/a": normals[:6], "site_normal/b": normals[6:], "adipose": adipose}
    return site_report.evaluate(sets, {"signals": prim}, recal, ["pen", "blank"], groups)


def test_checks_pass_at_the_bars_and_fail_past_them():
    s = synthetic_run(fpr_default=1, fpr_site=0, blank_glass=10, adipose_normal=2)
    assert [c["pass"] for c in s["checks"]] == [True] * 7
    assert s["fpr_default"]["sites"] == {"a": {"n": 6, "false_positives": 1, "fpr": 1 / 6},
                                         "b": {"n": 4, "false_positives": 0, "fpr": 0.0}}
    assert s["fpr_default"]["pooled"]["fpr"] == 0.1 and s["checks"][0]["pass"]  # 0.10 is within "≤ 10 %"
    s = synthetic_run(fpr_default=2, fpr_site=1, blank_glass=9, adipose_normal=1)
    by = {c["check"].split(" (")[0].split(",")[0]: c for c in s["checks"]}
    assert not s["checks"][0]["pass"] and s["checks"][0]["value"] == 0.2
    assert not s["checks"][1]["pass"] and s["checks"][1]["value"] == 0.1
    assert not by["blank glass → verdict `not_tissue`"]["pass"]
    assert not by["adipose → verdict `normal`"]["pass"]
    assert s["fpr_site_calibrated"]["halves"] == {"A": {"n": 5, "false_positives": 1, "fpr": 0.2},
                                                  "B": {"n": 5, "false_positives": 0, "fpr": 0.0}}
    assert s["auroc"]["signals"]["kinds"]["pen"]["auroc"] == 1.0  # every pen score above every normal
    assert [m["patch"] for m in s["false_positives"]["default"]] == ["n0", "n1"]
    assert s["auroc_same_site"] == {}  # no set here shares a site with the normals
    assert [(m["patch"], m["half"], m["verdict"]) for m in s["false_positives"]["site_calibrated"]] == \
        [("n0", "A", "anomalous")]


def test_same_site_auroc_compares_a_site_with_itself():
    neg_a = [patch("a", str(i), name=f"a{i}") for i in range(3)]
    neg_b = [patch("b", str(i), name=f"b{i}") for i in range(3)]
    pos = [patch("a", "x", kind="blur_s2", name="pa"), patch("b", "y", kind="blur_s2", name="pb")]
    # site a scores low, site b high: pooled, a's artefact sits below b's normals; within a it is above all
    scores = {"signals": {"a0": {"score": 0.1}, "a1": {"score": 0.2}, "a2": {"score": 0.3}, "pa": {"score": 0.5},
                          "b0": {"score": 0.7}, "b1": {"score": 0.8}, "b2": {"score": 0.9}, "pb": {"score": 0.85}}}
    got = site_report.same_site_auroc(scores, {"site_normal/a": neg_a, "site_normal/b": neg_b}, {"blur_s2": pos})
    assert got == {"blur_s2/a": {"n": 1, "negatives": 3, "signals": 1.0},
                   "blur_s2/b": {"n": 1, "negatives": 3, "signals": 2 / 3}}


def test_auroc_check_fails_below_the_bar():
    t = site_report.auroc_table([0.999] * 10, {"pen": [0.95] * 10}, ["pen"])  # every normal above every pen
    out = {"auroc": {"signals": t}, "fpr_default": {"pooled": {"fpr": 0.0}},
           "fpr_site_calibrated": {"pooled": {"fpr": 0.0}}, "verdicts": {}}
    c = site_report.checks(out, ["pen"])
    assert [x["pass"] for x in c[2:4]] == [False, False]  # AUROC 0 < 0.90, macro 0 < 0.93
    assert [x["pass"] for x in c[4:]] == [False, False]  # no blank or adipose rows: not a silent PASS


# ------------------------------------------------------------------------------------------ Markdown
def test_write_section_appends_then_replaces_and_keeps_the_rest(tmp_path):
    md = tmp_path / "evaluation.md"
    md.write_text("# Title\n\n<!-- BEGIN RESULTS -->\nold\n<!-- END RESULTS -->\n\nafter\n")
    site_markdown.write_section(md, "first")
    t1 = md.read_text()
    assert t1.startswith("# Title\n\n<!-- BEGIN RESULTS -->\nold\n<!-- END RESULTS -->\n\nafter\n")
    assert f"{site_markdown.HEADING}\n\n{site_markdown.BEGIN}\nfirst\n{site_markdown.END}\n" in t1
    md.write_text(t1 + "\ntrailing text\n")
    site_markdown.write_section(md, "second")
    t2 = md.read_text()
    assert "first" not in t2 and "second" in t2 and t2.endswith("\ntrailing text\n")
    assert t2.count(site_markdown.BEGIN) == 1 and t2.count(site_markdown.HEADING) == 1
    md.write_text(f"x\n{site_markdown.BEGIN}\nno end\n")
    with pytest.raises(RuntimeError, match="only one"):
        site_markdown.write_section(md, "third")


def test_render_states_each_check_and_the_figures_of_the_summary():
    s = synthetic_run(fpr_default=1, fpr_site=2, blank_glass=10, adipose_normal=2)
    spec = json.loads(site_sets.SITE_LIST.read_text())
    ctx = {"command": "python3 training/scripts/evaluate_sites.py --x", "created": "2026-01-01 00:00 UTC",
           "card": {"name": "m", "version": "1", "calibration": {"patches": 328, "source": "val"}}, "spec": spec,
           "counts": {"site_normal": 10, "blank": 10, "pen": 10, "adipose": 2}, "total": 30,
           "halves": {"a": {"A": 3, "B": 3}},
           "site_cards": {"A": "1+cal.aa", "B": "1+cal.bb"}, "ranked": ["pen", "blank"],
           "seconds": {"score signals": 3.0}, "json_name": "evaluation_sites.json", "methods": ["signals"]}
    md = site_markdown.render(s, ctx)
    assert "30 patches; run 2026-01-01 00:00 UTC with\n\n```\npython3 training/scripts/evaluate_sites.py --x\n```" in md
    assert "- **PASS** FPR at the default threshold, default calibration, other-site normals pooled: 0.100" in md
    assert "- **FAIL** FPR at the default threshold after `histoae calibrate` on the disjoint half, pooled: 0.200" in md
    assert "| **pooled** | 10 | 3 / 3 | **0.100 (1/10)** | **0.200 (2/10)** |" in md
    assert "| `pen` | 10 | 1.000 |" in md and "| `blank` | 10 | 0.000 | 0.000 | 0.000 | 1.000 | 1.000 |" in md
    assert md.count("PASS") + md.count("FAIL") == len(s["checks"])
    assert "| default | `a` |  | f.png @ 0,0 | A | `anomalous` | – |" in md
    assert md.count("| site | `a` |") == 2


# ------------------------------------------------------------------------------------------ a whole run
FAKE = textwrap.dedent('''\
    import json, os, sys
    from pathlib import Path
    import numpy as np
    from PIL import Image
    args = sys.argv[1:]
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(json.dumps(args) + "\\n")
    cmd, rest = args[0], args[1:]
    if cmd == "calibrate" and os.environ.get("FAKE_REBUILD"):  # as if someone rebuilt the binary meanwhile
        with open(sys.argv[0], "a") as me:
            me.write("# rebuilt\\n")
    opts, inputs = {}, []
    while rest:
        if rest[0].startswith("--"):
            opts[rest[0]], rest = rest[1], rest[2:]
        else:
            inputs.append(rest.pop(0))
    files = sorted(f for i in inputs for f in (Path(i).iterdir() if Path(i).is_dir() else [Path(i)]))
    def darkness(f):
        return 1.0 - float(np.asarray(Image.open(f).convert("L"), dtype=np.float64).mean()) / 255.0
    card = json.loads((Path(opts["--model"]) / "model.json").read_text())
    if cmd == "calibrate":
        if len(files) < 50:
            print("calibration needs at least 50 patches", file=sys.stderr); sys.exit(1)
        out = Path(opts["--output"]); out.mkdir(parents=True)
        cut = float(np.quantile([darkness(f) for f in files], 0.99))
        card.update(version=card["version"] + "+cal.%08x" % len(files), cut=cut,
                    calibration={"source": opts["--source"], "patches": len(files)})
        (out / "model.json").write_text(json.dumps(card)); print("wrote %s/model.json" % out); sys.exit(0)
    assert cmd == "score" and opts["--format"] == "json" and "--threshold" not in opts and "--fpr" not in opts
    for f in files:
        d = darkness(f)
        verdict = "not_tissue" if d < 0.05 else ("anomalous" if d > card["cut"] else "normal")
        print(json.dumps({"path": str(f), "statistics": {"darkness": d}, "method": opts["--method"],
                          "score": d, "threshold": 0.99, "fpr": 0.01, "threshold_source": "default (fpr 0.01)",
                          "anomalous": verdict != "normal", "verdict": verdict, "deviation": d,
                          "score_statistic": "mse", "flags": ["background"] if d < 0.05 else [],
                          "signals": {}, "model": {"version": card["version"]}}))
''')


def stand_in_run(tmp_path, monkeypatch):
    """Two synthetic sites (a 1500-px image on a 150-px grid, and 224-px tiles cropped four times), a glass and a
    dark 'pen' set: every step runs, the halves are calibrated on and scored crosswise, the page is written."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data" / "other-sites"
    (root / "big").mkdir(parents=True)
    big = np.clip(rng.normal(PINK, 12, (1500, 1500, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(big).save(root / "big" / "slide.png")
    for t in range(5):
        Image.fromarray(np.clip(rng.normal(PINK, 12, (224, 224, 3)), 0, 255).astype(np.uint8)).save(root / f"t{t}.png")
    spec = {"folder": "other-sites", "crop": 150, "adipose": {"site": "tiles", "tissue": "ADI"}, "tumour": [],
            "sites": [{"site": "tiles", "title": "T", "licence": "L", "source": "S", "why_normal": "W",
                       "split_unit": "file", "normal": [{"file": f"t{t}.png", "tissue": "ADI" if t == 0 else "X",
                                                         "offsets": [[0, 0], [74, 0], [0, 74], [74, 74]]}
                                                        for t in range(5)]},
                      {"site": "big", "title": "B", "licence": "L", "source": "S", "why_normal": "W",
                       "split_unit": "crop", "normal": [{"file": "big/slide.png", "grid": 150}]}]}
    (tmp_path / "sites.json").write_text(json.dumps(spec))
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text(json.dumps({"name": "fake", "version": "1.0", "cut": 0.9}))
    fake = tmp_path / "histoae"
    fake.write_text(f"#!{sys.executable}\n" + FAKE)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "log.jsonl"))
    glass = [es.Patch("", "blank", "g", str(i), np.full((150, 150, 3), 245, np.uint8)) for i in range(5)]
    pen = [es.Patch("", "pen", "p", str(i), np.full((150, 150, 3), (20, 90, 30), np.uint8)) for i in range(5)]
    md, js = tmp_path / "evaluation.md", tmp_path / "evaluation_sites.json"
    md.write_text("# E\n")
    a = evaluate_sites.parse_args(["--model", str(model), "--bin", str(fake), "--data-root", str(tmp_path / "data"),
                                   "--site-list", str(tmp_path / "sites.json"), "--work", str(tmp_path / "w"),
                                   "--methods", "signals,combined", "--markdown", str(md), "--json", str(js)])
    return evaluate_sites.run(a, argparse.Namespace(), "CMD", given={"blank": (glass, {}), "pen": (pen, {})})


def test_a_whole_run_against_a_stand_in_binary(tmp_path, monkeypatch):
    assert stand_in_run(tmp_path, monkeypatch) == 0
    md, js = tmp_path / "evaluation.md", tmp_path / "evaluation_sites.json"
    calls = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [c[0] for c in calls] == ["score", "score", "calibrate", "calibrate", "score", "score"]
    assert calls[4][calls[4].index("--model") + 1].endswith("card_B") and calls[4][-1].endswith("halves/A")
    assert calls[5][calls[5].index("--model") + 1].endswith("card_A") and calls[5][-1].endswith("halves/B")
    doc = json.loads(js.read_text())
    assert doc["counts"]["site_normal"] == 120 and doc["counts"]["adipose"] == 4
    assert doc["halves"] == {"tiles": {"A": 12, "B": 8}, "big": {"A": 50, "B": 50}}
    names_a = {p.name for p in (tmp_path / "w" / "halves" / "A").iterdir()}
    names_b = {p.name for p in (tmp_path / "w" / "halves" / "B").iterdir()}
    assert len(names_a) == 62 and len(names_b) == 58 and not names_a & names_b
    res = doc["results"]
    assert res["auroc"]["signals"]["kinds"]["pen"]["auroc"] == 1.0
    assert res["verdicts"]["blank"]["not_tissue"] == 1.0
    assert res["fpr_site_calibrated"]["pooled"]["n"] == 120
    assert all("site_calibrated" in p for p in doc["patches"] if p["kind"] == "site_normal")
    assert doc["site_cards"]["A"]["output"] == ["wrote <work>/card_A/model.json"]  # no machine path in docs/
    assert str(tmp_path / "w") not in js.read_text()
    text = md.read_text()
    assert text.startswith("# E\n") and site_markdown.BEGIN in text and "```\nCMD\n```" in text


def test_a_binary_rebuilt_during_the_run_stops_it_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_REBUILD", "1")
    with pytest.raises(SystemExit, match="changed during the run"):
        stand_in_run(tmp_path, monkeypatch)
    assert not (tmp_path / "evaluation_sites.json").exists() and (tmp_path / "evaluation.md").read_text() == "# E\n"
