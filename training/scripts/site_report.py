"""Figures of the cross-site evaluation from `histoae score` records, and the must-show checks.

Every figure is computed from the JSON records the binary printed (section 5 of the scoring design:
``score``, ``verdict``, ``flags``, ``threshold``, ``threshold_source``); nothing is re-implemented here.

Usage::

    import site_report
    summary = site_report.evaluate(sets, scores, recal, ranked=["pen", "blank"], groups=groups)
    for c in summary["checks"]:
        print("PASS" if c["pass"] else "FAIL", c["check"], c["value"])

``sets`` maps a set name to its patches (``.name``, ``.info["site"]``), ``scores`` a method to
``{patch name: record}``, ``recal`` a normal patch's name to its record when scored with the card
calibrated on the other half of its site; ``groups`` maps a row label to a list of patches (sites, adipose).
"""

from __future__ import annotations

import numpy as np

import evaluate_scores as es

PRIMARY = "signals"
FLAGS = ("high_error", "stain", "blur", "background")
VERDICTS = ("normal", "anomalous", "not_tissue")
# The issue's bars (nominal false-positive rate 1 %).
MAX_FPR_DEFAULT = 0.10
MAX_FPR_SITE = 0.03
MIN_AUROC_EACH = 0.90
MIN_AUROC_MACRO = 0.93
MIN_BLANK_NOT_TISSUE = 0.95
MIN_ADIPOSE_NORMAL = 0.90


def _verdict(rec: dict) -> str:
    v = rec.get("verdict")
    if v not in VERDICTS:
        raise ValueError(f"record of {rec.get('path', '?')} has no scoring-v2 verdict ({v!r}): "
                         "the binary predates scoring v2")
    return v


def verdict_shares(records: list[dict]) -> dict:
    """n and the fraction of each verdict."""
    n = len(records)
    out: dict = {"n": n}
    for v in VERDICTS:
        out[v] = sum(_verdict(r) == v for r in records) / n if n else None
    return out


def false_positive_rate(records: list[dict]) -> dict:
    """Normal patches not called ``normal`` (``anomalous`` or ``not_tissue``): n, count, rate."""
    n = len(records)
    k = sum(_verdict(r) != "normal" for r in records)
    return {"n": n, "false_positives": k, "fpr": k / n if n else None}


def flag_rates(records: list[dict]) -> dict:
    """n and the fraction of patches carrying each flag, and any flag at all."""
    n = len(records)
    out: dict = {"n": n}
    for f in FLAGS:
        out[f] = sum(f in r.get("flags", []) for r in records) / n if n else None
    out["any"] = sum(bool(r.get("flags")) for r in records) / n if n else None
    return out


def auroc_table(neg: list[float], positives: dict[str, list[float]], ranked: list[str]) -> dict:
    """AUROC per set (normals = negatives, ties ½), the macro mean and the worst over ``ranked``."""
    kinds = {k: {"n": len(v), "auroc": es.auroc(np.array(neg), np.array(v))} for k, v in positives.items()}
    vals = {k: kinds[k]["auroc"] for k in ranked if k in kinds and kinds[k]["auroc"] is not None}
    worst = min(vals, key=vals.get) if vals else None
    return {"kinds": kinds, "macro": float(np.mean(list(vals.values()))) if vals else None,
            "worst": vals[worst] if worst else None, "worst_kind": worst}


def _records(by_name: dict, patches: list) -> list[dict]:
    return [by_name[p.name] for p in patches]


def misses(by_name: dict, patches: list) -> list[dict]:
    """The normal patches not called ``normal``: where they come from, verdict and flags (to read the FPR)."""
    return [{"patch": p.name, "site": p.info.get("site"), "tissue": p.info.get("tissue"), "source": p.source,
             "where": p.where, "half": p.info.get("half"), "verdict": by_name[p.name]["verdict"],
             "flags": by_name[p.name].get("flags", [])} for p in patches if _verdict(by_name[p.name]) != "normal"]


def evaluate(sets: dict[str, list], scores: dict[str, dict], recal: dict[str, dict], ranked: list[str],
             groups: dict[str, list], normal: str = "site_normal", unranked: tuple[str, ...] = ("tumour",)) -> dict:
    """Every figure of the report; ``groups`` rows (e.g. ``site_normal/prostate``, ``adipose``) are subsets."""
    prim = scores[PRIMARY]
    normals = sets[normal]
    site_rows = {g: ps for g, ps in groups.items() if g.startswith(normal + "/")}
    thresholds = sorted({(r["threshold"], r.get("threshold_source")) for r in prim.values()}, key=str)
    out: dict = {"threshold": [{"threshold": t, "source": s} for t, s in thresholds]}
    out["fpr_default"] = {"sites": {g.split("/", 1)[1]: false_positive_rate(_records(prim, ps))
                                    for g, ps in site_rows.items()},
                          "pooled": false_positive_rate(_records(prim, normals))}
    out["fpr_default_by_method"] = {m: false_positive_rate(_records(s, normals)) for m, s in scores.items()}
    # The method's verdict on adipose tissue (a requirement of the default: adipose is tissue, not an artefact).
    out["adipose_normal_by_method"] = {m: verdict_shares(_records(s, groups.get("adipose", []))).get("normal")
                                       for m, s in scores.items()}
    out["fpr_site_calibrated"] = {
        "sites": {g.split("/", 1)[1]: false_positive_rate(_records(recal, ps)) for g, ps in site_rows.items()},
        "pooled": false_positive_rate(_records(recal, normals)),
        "halves": {h: false_positive_rate([recal[p.name] for p in normals if p.info.get("half") == h])
                   for h in ("A", "B")},
    }
    out["false_positives"] = {"default": misses(prim, normals), "site_calibrated": misses(recal, normals)}
    kinds = [k for k in list(ranked) + list(unranked) if k in sets]
    out["auroc"] = {m: auroc_table([s[p.name]["score"] for p in normals],
                                   {k: [s[p.name]["score"] for p in sets[k]] for k in kinds}, ranked)
                    for m, s in scores.items()}
    out["auroc_same_site"] = same_site_auroc(scores, site_rows, {k: sets[k] for k in kinds})
    rows = {**{g: ps for g, ps in groups.items()}, normal: normals, **{k: sets[k] for k in kinds}}
    out["rows"] = list(rows)
    out["flags"] = {g: flag_rates(_records(prim, ps)) for g, ps in rows.items()}
    out["verdicts"] = {g: verdict_shares(_records(prim, ps)) for g, ps in rows.items()}
    out["verdicts_site_calibrated"] = {g: verdict_shares(_records(recal, ps))
                                       for g, ps in {**site_rows, normal: normals}.items()}
    out["checks"] = checks(out, ranked)
    return out


def same_site_auroc(scores: dict, site_rows: dict, kinds: dict) -> dict:
    """AUROC of a site's normals against the same site's patches of each kind that has any (the sets derived
    from the normals, tumour): it separates "unlike this site's tissue" from the score levels of other sites."""
    out: dict = {}
    for k, ps in kinds.items():
        for g, neg in site_rows.items():
            site = g.split("/", 1)[1]
            pos = [p for p in ps if p.info.get("site") == site]
            if pos:
                score = lambda s, patches: np.array([s[p.name]["score"] for p in patches])  # noqa: E731
                out[f"{k}/{site}"] = {"n": len(pos), "negatives": len(neg),
                                      **{m: es.auroc(score(s, neg), score(s, pos)) for m, s in scores.items()}}
    return out


def _check(label: str, value, op: str, bar: float) -> dict:
    ok = value is not None and (value <= bar if op == "≤" else value >= bar)
    return {"check": label, "value": value, "op": op, "bar": bar, "pass": bool(ok)}


def checks(out: dict, ranked: list[str]) -> list[dict]:
    """The issue's must-show lines, each PASS or FAIL on the unrounded figure."""
    a = out["auroc"][PRIMARY]
    res = [
        _check("FPR at the default threshold, default calibration, other-site normals pooled",
               out["fpr_default"]["pooled"]["fpr"], "≤", MAX_FPR_DEFAULT),
        _check("FPR at the default threshold after `histoae calibrate` on the disjoint half, pooled",
               out["fpr_site_calibrated"]["pooled"]["fpr"], "≤", MAX_FPR_SITE),
    ]
    res += [_check(f"AUROC other-site normals vs `{k}` (`{PRIMARY}`, default calibration)",
                   a["kinds"][k]["auroc"] if k in a["kinds"] else None, "≥", MIN_AUROC_EACH) for k in ranked]
    res.append(_check(f"macro AUROC over the ranked kinds (`{PRIMARY}`)", a["macro"], "≥", MIN_AUROC_MACRO))
    blank = out["verdicts"].get("blank", {})
    res.append(_check("blank glass → verdict `not_tissue`", blank.get("not_tissue"), "≥", MIN_BLANK_NOT_TISSUE))
    adipose = out["verdicts"].get("adipose", {})
    res.append(_check("adipose → verdict `normal`", adipose.get("normal"), "≥", MIN_ADIPOSE_NORMAL))
    return res
