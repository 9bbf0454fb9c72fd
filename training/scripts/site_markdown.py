"""The cross-site section of docs/evaluation.md: Markdown tables from ``site_report.evaluate``'s summary.

The section lives between its own markers, so evaluate_scores.py's results block and the hand-written text
around both are kept. Usage::

    import site_markdown
    block = site_markdown.render(summary, context)      # context: see ``render``
    site_markdown.write_section(Path("docs/evaluation.md"), block)
"""

from __future__ import annotations

from pathlib import Path

import evaluate_scores as es
import site_report as sr

BEGIN = "<!-- BEGIN CROSS-SITE (written by training/scripts/evaluate_sites.py) -->"
END = "<!-- END CROSS-SITE -->"
HEADING = "## Cross-site evaluation: normal tissue from other sites"

TITLES = {
    "site_normal": "other-site normal tissue (negatives)",
    "restain_hdab": "foreign stain, synthetic: the other-site normals re-stained H + DAB",
    "blur_s2": "synthetic blur: the other-site normals, Gaussian σ = 2 px",
    "blur_s4": "synthetic blur: the other-site normals, Gaussian σ = 4 px",
    "tumour": "carcinoma: TMA-core nests and StarDist `histo.jpg` scaled ½ (not ranked)",
    "adipose": "adipose tissue (the NCT `ADI` crops, part of the normals)",
}


def title(key: str) -> str:
    if key in TITLES:
        return TITLES[key]
    if "/" in key:
        return f"normals of site `{key.split('/', 1)[1]}`"
    kind = es.KIND_BY_KEY.get(key)
    return f"{kind.title} (as in the held-out evaluation)" if kind else key


def _f(v, digits: int = 3) -> str:
    return es._f(v, digits)  # noqa: SLF001 - one number format for the whole page


def _fpr(x: dict) -> str:
    return f"{_f(x['fpr'])} ({x['false_positives']}/{x['n']})" if x["n"] else "–"


def write_section(path: Path, block: str) -> None:
    """Replace the text between the cross-site markers; append a heading and the markers when absent."""
    text = path.read_text() if path.exists() else "# HistoAE score evaluation\n"
    if (BEGIN in text) != (END in text):
        raise RuntimeError(f"{path}: only one of the cross-site markers is present")
    if BEGIN not in text:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")


def render(s: dict, ctx: dict) -> str:
    """``ctx``: command, created, card (model.json), spec (other_sites.json), counts {set or row: n}, total,
    halves {site: {"A": n, "B": n}}, site_cards {"A"/"B": version}, ranked, seconds, json_name, methods."""
    card, spec, methods, ranked = ctx["card"], ctx["spec"], ctx["methods"], ctx["ranked"]
    w, cal = card.get("weights", {}), card.get("calibration", {})
    thr = ", ".join(f"{t['threshold']} ({t['source']})" for t in s["threshold"])
    lines = [
        f"Model **`{card.get('name')}` {card.get('version')}** (weights sha256 "
        f"`{str(w.get('sha256', ''))[:16]}…`, default calibration: {cal.get('patches', '?')} patches, "
        f"{cal.get('source', '?')}); {ctx['total']} patches; run {ctx['created']} with",
        "", "```", ctx["command"], "```", "",
        f"Threshold: the binary's default, {thr}. Method `{sr.PRIMARY}` unless a column says otherwise.", "",
        "### Must-show checks", "",
    ]
    for c in s["checks"]:
        lines.append(f"- **{'PASS' if c['pass'] else 'FAIL'}** {c['check']}: {_f(c['value'])} "
                     f"(bar {c['op']} {c['bar']:.2f})")
    lines += ["", "### Other-site sets", "",
              "| site | normal crops | what | why normal | source, licence |", "|---|---:|---|---|---|"]
    for site in spec["sites"]:
        lines.append(f"| `{site['site']}` | {ctx['counts'].get('site_normal/' + site['site'], 0)} | {site['title']}"
                     f"; {site.get('scale', '')} | {site['why_normal']} | {site['source']}; **{site['licence']}** |")
    lines += ["", "| set | n | what |", "|---|---:|---|"]
    for key in ["site_normal", "adipose", *ranked, "tumour"]:
        if key in ctx["counts"]:
            lines.append(f"| `{key}` | {ctx['counts'][key]} | {title(key)} |")
    lines += [
        "", "### False-positive rate on the other-site normals", "",
        "Default calibration: the model card's own block. Site calibration: each site's normals split into halves "
        "A and B (seeded, whole groups — the four crops of an NCT tile stay together, grid crops do not overlap); "
        "`histoae calibrate` on half A scores half B and the reverse; every normal is scored once, by the card "
        "that never saw it.", "",
        "| site | n | half A / B | default calibration | after site calibration |", "|---|---:|---:|---:|---:|",
    ]
    fd, fc = s["fpr_default"], s["fpr_site_calibrated"]
    for site, x in fd["sites"].items():
        h = ctx["halves"].get(site, {})
        lines.append(f"| `{site}` | {x['n']} | {h.get('A', 0)} / {h.get('B', 0)} | {_fpr(x)} | "
                     f"{_fpr(fc['sites'][site])} |")
    tot = {k: sum(h.get(k, 0) for h in ctx["halves"].values()) for k in ("A", "B")}
    lines.append(f"| **pooled** | {fd['pooled']['n']} | {tot['A']} / {tot['B']} | **{_fpr(fd['pooled'])}** | "
                 f"**{_fpr(fc['pooled'])}** |")
    lines += ["", f"After site calibration, per scored half: A (card of B) {_fpr(fc['halves']['A'])}, "
                  f"B (card of A) {_fpr(fc['halves']['B'])}. Site cards: A `{ctx['site_cards'].get('A')}`, "
                  f"B `{ctx['site_cards'].get('B')}`.", ""]
    lines += _misses(s["false_positives"])
    lines += _auroc_table(s, ctx, methods, ranked)
    lines += _rate_table("Detection rate per flag (`signals`, default calibration): fraction of patches with "
                         "each flag", s["flags"], [*sr.FLAGS, "any"], s["rows"])
    lines += _rate_table("Verdicts (`signals`, default calibration)", s["verdicts"], list(sr.VERDICTS), s["rows"])
    lines += _rate_table("Verdicts of the normals after site calibration", s["verdicts_site_calibrated"],
                         list(sr.VERDICTS), list(s["verdicts_site_calibrated"]))
    lines += [
        "Things to keep in mind: the other-site sample is a handful of images (5 NCT tiles, one prostate "
        "biopsy, one TMA core), so crops of one image share tissue and stain, and the effective sample is closer "
        "to the number of images than to the number of crops; a rate over n patches moves in steps of 1/n. "
        "The false-positive rate counts every normal patch not called `normal` (`anomalous` or `not_tissue`). "
        f"Every patch's score, verdict and flags per method: [`{ctx['json_name']}`]({ctx['json_name']}). Time: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in ctx["seconds"].items()) + ".",
    ]
    return "\n".join(lines)


def _auroc_table(s: dict, ctx: dict, methods: list[str], ranked: list[str]) -> list[str]:
    lines = ["### AUROC: other-site normals (negatives) against each artefact kind, default calibration", "",
             "| set | n | " + " | ".join(f"`{m}`" for m in methods) + " |", "|---|---:|" + "---:|" * len(methods)]
    kinds = s["auroc"][methods[0]]["kinds"]
    for k in kinds:
        label = f"`{k}`" + ("" if k in ranked else " (not ranked)")
        lines.append(f"| {label} | {kinds[k]['n']} | "
                     + " | ".join(_f(s["auroc"][m]["kinds"][k]["auroc"]) for m in methods) + " |")
    lines.append("| **macro mean** (ranked) | | " + " | ".join(f"**{_f(s['auroc'][m]['macro'])}**" for m in methods)
                 + " |")
    lines.append("| worst (ranked) | | " + " | ".join(f"{_f(s['auroc'][m]['worst'])} (`{s['auroc'][m]['worst_kind']}`)"
                                                    for m in methods) + " |")
    lines.append(f"| FPR on the normals at the default threshold | {s['fpr_default']['pooled']['n']} | "
                 + " | ".join(_f(s["fpr_default_by_method"][m]["fpr"]) for m in methods) + " |")
    if s.get("adipose_normal_by_method"):
        lines.append(f"| adipose patches called `normal` | {ctx['counts'].get('adipose', 0)} | "
                     + " | ".join(_f(s["adipose_normal_by_method"][m]) for m in methods) + " |")
    if s["auroc_same_site"]:
        lines += ["", "Within one site (that site's normals against that site's patches of the set; the pooled "
                      "figures above also compare one site's artefacts with other sites' normals):", "",
                  "| set / site | n | normals | " + " | ".join(f"`{m}`" for m in methods) + " |",
                  "|---|---:|---:|" + "---:|" * len(methods)]
        for key, x in s["auroc_same_site"].items():
            lines.append(f"| `{key}` | {x['n']} | {x['negatives']} | " + " | ".join(_f(x[m]) for m in methods) + " |")
    return lines + [""]


def _misses(fp: dict) -> list[str]:
    rows = [(label, m) for label, key in (("default", "default"), ("site", "site_calibrated")) for m in fp[key]]
    if not rows:
        return []
    lines = ["Normals not called `normal`:", "", "| calibration | site | tissue | crop | half | verdict | flags |",
             "|---|---|---|---|---|---|---|"]
    for label, m in rows:
        lines.append(f"| {label} | `{m['site']}` | {m['tissue'] or ''} | {m['source']} @ {m['where']} | {m['half']} | "
                     f"`{m['verdict']}` | {', '.join(f'`{f}`' for f in m['flags']) or '–'} |")
    return lines + [""]


def _rate_table(heading: str, table: dict, cols: list[str], rows: list[str]) -> list[str]:
    lines = [f"### {heading}", "", "| set | n | " + " | ".join(f"`{c}`" for c in cols) + " |",
             "|---|---:|" + "---:|" * len(cols)]
    for r in rows:
        x = table[r]
        lines.append(f"| `{r}` | {x['n']} | " + " | ".join(_f(x[c]) for c in cols) + " |")
    return lines + [""]
