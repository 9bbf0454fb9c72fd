#!/usr/bin/env python3
"""Writes deploy/README.md "Sizing": the server's measured peak memory, and the replica example.

    swift build -c release && python3 bench/memory.py [--seconds 10]   # about 2 minutes
    python3 bench/memory.py --replicas-only                            # the replica example only; instant
    python3 bench/memory.py --scans-only                               # the scan table only; about 1 minute

Memory: for each configuration in CONFIGS, starts the release server
(`histoae serve --port 0 --workers W --queue-capacity Q`), leaves it idle or drives it for --seconds with
bench/load_test.py's clients (keep-alive connections POSTing multipart requests of the fixture patches; more
patches than the queue holds, so the queue stays full and some requests get 503, or 504 past their deadline),
then reads its peak RSS (VmHWM) once every request has been answered, and stops it with SIGTERM. Writes the
table between the MEMORY markers of deploy/README.md and checks it against the README's memory rule just below
the table: the rule *without* its × 1.5 headroom must be at least every measured peak (the headroom is for
fragmentation and loads not measured here). Prints PASS/FAIL per row; exits 1 if a row fails, a request got
another error or hung, or a server exited non-zero.

Scans: for each slide in SCANS, runs `histoae scan --workers 2` on the shared slides and reads its peak RSS
(wait4's ru_maxrss) and tiles/s; writes the table between the SCAN markers and checks that
`deploy_checks.SCAN_MEMORY_MIB` (the rule the scan Job example's memory limit is checked against) covers every row.

Replicas: r = the served rate of bench/load_results.md (bench/load_test.py: 32 clients, single-patch requests)
divided by the logical CPUs named on its "machine:" line, rounded; writes the worked example between the
REPLICAS markers.
"""
import argparse
import datetime
import math
import os
import pathlib
import re
import sys
import textwrap
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import load_test  # noqa: E402  (its server start/stop, multipart bodies and clients)

README = ROOT / "deploy/README.md"
LOAD_RESULTS = ROOT / "bench/load_results.md"
# (workers, queue capacity, clients, patches per request); 0 clients: idle, model loaded.
CONFIGS = [(2, 256, 0, 0), (4, 256, 0, 0), (2, 256, 32, 16), (4, 256, 32, 16), (2, 512, 32, 32), (2, 512, 8, 256)]
sys.path.insert(0, str(ROOT / "deploy/tools"))
import deploy_checks  # noqa: E402  (the memory rule scripts/check-deploy.sh enforces: one source)
# The worked example: a pipeline of SLIDES_PER_HOUR slides of PATCHES_PER_SLIDE patches, pods of POD_CORES
# cores, the HPA's target utilisation.
SLIDES_PER_HOUR, PATCHES_PER_SLIDE, POD_CORES, HPA_TARGET = 20, 50_000, 2, 0.7
# (slide under ../shared/data/slides, extra `histoae scan` arguments): the CMU sample at its own µm/px, and the
# TCGA slide (no µm/px in the file) at overlapping tiles, about 1,800 of them.
SCANS = [("cmu-1-small-region.svs", []), ("tcga-cr-7395-01a-01-ts1.svs", ["--slide-mpp", "0.5", "--stride", "75"])]


def fill(text):
    """`text` wrapped at 115 columns like the README; spaces written as NUL never break a line."""
    return textwrap.fill(text, width=115, break_long_words=False, break_on_hyphens=False).replace("\0", " ")


def unbroken(text):
    return text.replace(" ", "\0")


def replace_between(text, name, body):
    """`text` with the lines between `<!-- BEGIN name ...-->` and `<!-- END name -->` replaced by `body`."""
    pattern = re.compile(rf"(<!-- BEGIN {name} [^\n]*-->\n).*?(<!-- END {name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{README}: markers <!-- BEGIN {name} ... --> / <!-- END {name} --> not found")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text, count=1)


def replicas_section():
    """The Replicas paragraph, from bench/load_results.md's served rate per core."""
    results = LOAD_RESULTS.read_text()
    served = re.search(r"^\| `/v1/score`, (\d+) clients, single-patch PNG requests.*\| ([0-9.]+) patches/s \|$",
                       results, re.M)
    cores = re.search(r"^- machine: .*?(\d+) logical (?:CPUs|cores)", results, re.M)
    date = re.search(r"^- date: (\d{4}-\d\d-\d\d)", results, re.M)
    if not (served and cores and date):
        raise SystemExit(f"{LOAD_RESULTS}: no served rate, machine or date line (run bench/load_test.py)")
    rate, machine_cores = float(served.group(2)), int(cores.group(1))
    r = round(rate / machine_cores)
    if r < 1:
        raise SystemExit(f"{LOAD_RESULTS}: {rate} patches/s on {machine_cores} cores rounds to 0 per core")
    peak = round(SLIDES_PER_HOUR * PATCHES_PER_SLIDE / 3600, -1)
    pods = math.ceil(peak / (r * POD_CORES * HPA_TARGET)) + 1
    minutes = PATCHES_PER_SLIDE / (r * POD_CORES) / 60
    slide = unbroken(f"{PATCHES_PER_SLIDE:,}".replace(",", " "))
    about = lambda m: f"{m:.0f}" if m >= 1 else f"{m:.1f}"  # noqa: E731
    print(f"replicas: r = {rate} patches/s / {machine_cores} cores = {rate / machine_cores:.2f} -> {r}; "
          f"P = {peak:.0f} -> {pods} pods; a slide: {minutes:.1f} min on one pod, {minutes / pods:.1f} on {pods}")
    example = unbroken(f"ceil({peak:.0f} / ({r} × {POD_CORES} × {HPA_TARGET:g})) + 1 = {pods} pods")
    formula = f"replicas at peak = ceil(P / (r × c × {HPA_TARGET:g})) + 1          (+1: one node or pod may be lost)"
    return "\n".join([
        fill(f"**Replicas.** With `r` = served patches/s per core (the example below assumes {r}: the development "
             f"machine's served rate in `bench/load_results.md` of {date.group(1)}, {rate:g} patches/s on "
             f"{machine_cores} cores, per core, rounded; use your nodes' figure), `c` = cores per pod ({POD_CORES}), "
             f"`P` = the peak patches/s your pipeline sends, and the HPA's {HPA_TARGET * 100:.0f} % target:"),
        "", "```", formula, "```", "",
        fill(f"Example: a pipeline scoring {SLIDES_PER_HOUR} slides an hour at {slide} tissue patches each needs "
             f"P ≈ {peak:.0f} patches/s → {example}: "
             "set `maxReplicas` to at least that (`overlays/prod/hpa-prod.yaml`) and `minReplicas` to what the "
             f"quiet hours need (≥ 2 for availability). One {POD_CORES}-core pod scores a {slide}-patch slide in "
             f"about {about(minutes)} minutes; {pods} pods in about {about(minutes / pods)}."), ""])


def measure(binary, workers, queue, clients, patches, seconds):
    """(peak RSS MiB, load label, results of the clients or None, exit status) of one configuration."""
    process, url = load_test.start_server(binary, "--workers", str(workers), "--queue-capacity", str(queue))
    load, label = None, "idle, model loaded"
    if clients:
        pngs = [path.read_bytes() for path in load_test.PATCHES]
        body, kind = load_test.multipart_body([("patch", f"p{i}.png", pngs[i % 2], "image/png")
                                               for i in range(patches)])
        load = load_test.run_clients(url + "/v1/score", [(body, kind, patches)], clients, seconds)
        label = f"{clients} clients × {patches} patches ({len(body) / 2**20:.1f} MiB bodies)"
    else:
        time.sleep(1)
    peak = load_test.peak_rss(process.pid)
    return peak, label, load, load_test.stop_server(process)


def memory_section(args):
    headroom = deploy_checks.HEADROOM
    rows, ok = [], True
    for workers, queue, clients, patches in CONFIGS:
        peak, label, load, status = measure(args.binary, workers, queue, clients, patches, args.seconds)
        allowed = deploy_checks.required_memory_mib(workers, queue) / headroom
        # 503 (queue full) and 504 (deadline passed in the queue) are the overload contract; other answers fail.
        late = load["other"].count(504) if load else 0
        errors = [code for code in load["other"] if code != 504] if load else []
        answered = f"{load['ok']} / {load['503']} / {late}" if load else "–"
        passed = peak <= allowed and status == 0 and not errors and not (load and load["hung"])
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}: {workers} workers, queue {queue}, {label}: peak {peak:.0f} MiB, "
              f"rule without × {headroom:g}: {allowed:.0f} MiB; answered 200 / 503 / 504: {answered}; "
              f"other {errors[:5]}, hung {load['hung'] if load else 0}; exit {status}",
              flush=True)
        rows.append(f"| {workers} | {queue} | {label} | {answered} | {peak:.0f} MiB | {allowed:.0f} MiB |")
    machine = load_test.machine_summary(args.binary)  # the CPU and cores as `histoae machine` names them
    command = "python3 bench/memory.py" + (f" --seconds {args.seconds:g}" if args.seconds != 10 else "")
    intro = fill(
        f"**Memory.** Peak RSS (VmHWM) of the release server, measured {datetime.date.today()} on {machine}, "
        f"by `{unbroken(command)}`: idle, then under saturating loopback load for "
        f"{args.seconds:g} s (keep-alive clients sending multipart requests of more patches than the queue holds, "
        "so some get 503, and 504 where a request's patches wait in the queue past its deadline). The last "
        "column is the rule below (`required_memory_mib` in deploy/tools/deploy_checks.py, default buffered bytes "
        "and 2 codec threads) without its headroom factor; the script checks that it covers every row.")
    section = "\n".join([
        intro, "",
        f"| workers | queue | load | answers 200 / 503 / 504 | peak RSS | rule without × {headroom:g} |",
        "|---:|---:|---|---:|---:|---:|", *rows, "", ""])
    return section, ok


def scan_section(args):
    """The SCAN table: peak RSS and tiles/s of `histoae scan` per slide, checked against SCAN_MEMORY_MIB."""
    import subprocess
    import tempfile
    rows, ok = [], True
    for slide, extra in SCANS:
        with tempfile.TemporaryDirectory() as out:
            command = [args.binary, "scan", "--workers", "2", "--out", out, *extra,
                       str(ROOT.parent / "shared/data/slides" / slide)]
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            stderr = process.stderr.read()
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        peak = usage.ru_maxrss / 1024  # KiB on Linux
        m = re.search(r"(\d+) tiles in ([\d.]+) s \(([\d.]+) tiles/s\)", stderr)
        passed = process.returncode == 0 and m is not None and peak <= deploy_checks.SCAN_MEMORY_MIB
        ok &= passed
        tiles, rate = (m.group(1), m.group(3)) if m else ("?", "?")
        print(f"{'PASS' if passed else 'FAIL'}: scan {slide} {' '.join(extra)}: {tiles} tiles at {rate} tiles/s, "
              f"peak {peak:.0f} MiB, rule {deploy_checks.SCAN_MEMORY_MIB} MiB; exit {process.returncode}", flush=True)
        options = f" `{' '.join(extra)}`" if extra else ""
        rows.append(f"| `{slide}`{options} | {tiles} | {rate} | {peak:.0f} MiB |")
    machine = load_test.machine_summary(args.binary)
    intro = fill(
        f"**Scans.** Peak RSS (wait4's ru_maxrss) and speed of `histoae scan --workers 2` (release build) on the "
        f"shared slides, measured {datetime.date.today()} on {machine} by `python3 bench/memory.py`. Tiles are "
        "streamed (a bounded reading queue, the engine's bounded requests) and the heatmap is thumbnail-sized, so "
        f"the peak does not grow with the slide; `SCAN_MEMORY_MIB` ({deploy_checks.SCAN_MEMORY_MIB} MiB in "
        "deploy/tools/deploy_checks.py, checked here to cover every row) × 1.5 is what the scan Job example's "
        "memory limit must reach.")
    section = "\n".join([intro, "", "| slide, options | tiles | tiles/s | peak RSS |", "|---|---:|---:|---:|",
                          *rows, "", ""])
    return section, ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/histoae"))
    parser.add_argument("--seconds", type=float, default=10, help="seconds of load per loaded configuration")
    parser.add_argument("--replicas-only", action="store_true", help="rewrite only the replica example")
    parser.add_argument("--scans-only", action="store_true", help="measure and rewrite only the scan table")
    args = parser.parse_args()
    sections, ok = ({} if args.scans_only else {"REPLICAS": replicas_section()}), True
    if not args.replicas_only:
        if not pathlib.Path(args.binary).exists():
            raise SystemExit(f"{args.binary} not found: run `swift build -c release` first")
        os.chdir(ROOT)  # the server's default model folder, models/default, is relative
        if not args.scans_only:
            sections["MEMORY"], ok = memory_section(args)
        sections["SCAN"], scans_ok = scan_section(args)
        ok &= scans_ok
    text = README.read_text()  # read again: others may have edited it during the measurements
    for name, body in sections.items():
        text = replace_between(text, name, body)
    README.write_text(text)
    print(f"wrote {README.relative_to(ROOT)}; {'PASS' if ok else 'FAIL'}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
