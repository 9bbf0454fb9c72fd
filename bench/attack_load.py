#!/usr/bin/env python3
"""Attack under load: legitimate clients at half the server's capacity, with and without a hostile mix (issue 13).

    swift build -c release && python3 bench/attack_load.py [--seconds 30] [--rounds 2]

1. Starts `histoae serve` with DEFAULT settings (release build) and measures its capacity: <capacity-clients>
   closed-loop keep-alive clients posting single PNG patches to /v1/score (bench/load_test.py's clients).
2. Alternates <rounds> × (baseline phase, attack phase), <seconds> each. In both, <clients> legitimate clients
   post single patches at a fixed total rate of half the capacity (open loop: a late answer does not lower the
   offered load). In attack phases a separate process runs bench/attacks.py's mix at fixed rates: slowloris
   connections, PNG zTXt/iTXt bombs, large-dimension and many-scan images, oversized bodies, maps=array
   amplification, disconnects mid-upload, broken multipart.
3. Reports the legitimate throughput and p50/p99 of each phase, the median of the rounds' attack/baseline ratios,
   the server's peak RSS (VmHWM, per phase), its CPU seconds, the attacks sent and answered as the contract says
   (README.md "Limits"), and whether the server process survived. Traffic goes to 127.0.0.1 only.
Targets: legitimate throughput ≥ 0.9× the attack-free phases, peak RSS < 1 GiB, zero crashes. Writes
docs/attack-under-load.md, prints a one-line verdict, exits 1 if a target is missed.
"""
import argparse
import datetime
import multiprocessing
import os
import pathlib
import shlex
import statistics
import subprocess
import sys
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from attacks import RATES, AttackMix  # noqa: E402
import load_test  # noqa: E402  (machine_summary: the machine as `histoae machine` names it)
from load_test import PATCHES, ROOT, run_clients, start_server, stop_server  # noqa: E402


# The /proc readers answer NaN once the server is gone (a crash is reported, not raised).

def server_cpu_seconds(pid: int) -> float:
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return float("nan")


def peak_rss_mib(pid: int) -> float:
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def reset_peak_rss(pid: int) -> None:
    try:
        pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")     # proc(5): VmHWM := VmRSS
    except OSError:
        pass


def _attack_process(mix: AttackMix, seconds: float, queue) -> None:
    queue.put(mix.run(seconds))


def run_phase(name: str, pid: int, url: str, bodies: list, rate: float, args, mix: AttackMix | None) -> dict:
    reset_peak_rss(pid)
    cpu = server_cpu_seconds(pid)
    attacker, queue = None, None
    if mix is not None:
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        attacker = context.Process(target=_attack_process, args=(mix, args.seconds, queue))
        attacker.start()
    legit = load_test.run_paced(url + "/v1/score", bodies, rate, args.clients, args.seconds)
    tallies = queue.get(timeout=args.seconds + 120) if attacker else {}
    if attacker:
        attacker.join(timeout=30)
    phase = {"name": name, "rate": legit["ok"] / legit["wall"], "p50": load_test.percentile(legit["latencies"], 0.5),
             "p99": load_test.percentile(legit["latencies"], 0.99), "other": legit["other"], "errors": legit["errors"],
             "ok": legit["ok"], "cpu": server_cpu_seconds(pid) - cpu, "peak_rss": peak_rss_mib(pid), "attacks": tallies}
    print(f"{name}: {phase['rate']:.1f} patches/s, p50 {phase['p50']:.0f} ms, p99 {phase['p99']:.0f} ms, "
          f"legit errors {phase['errors']} other {phase['other']}, server CPU {phase['cpu']:.1f} s, "
          f"peak RSS {phase['peak_rss']:.0f} MiB", flush=True)
    for kind, tally in tallies.items():
        print(f"  {kind}: sent {tally['sent']}, as expected {tally['expected']}, other {tally['other']}, "
              f"errors {tally['errors']}", flush=True)
    return phase


def commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "Sources", "Package.swift"], cwd=ROOT,
                           capture_output=True, text=True).stdout.splitlines()
    return head + (f" (at the start of the run {len(dirty)} files of Sources/ had uncommitted changes)" if dirty
                   else " (Sources/ as committed at the start of the run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/histoae"))
    parser.add_argument("--seconds", type=float, default=30, help="length of each baseline and attack phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16, help="legitimate clients")
    parser.add_argument("--capacity-clients", type=int, default=32)
    parser.add_argument("--capacity-seconds", type=float, default=10)
    parser.add_argument("--report", default=str(ROOT / "docs/attack-under-load.md"))
    args = parser.parse_args()
    binary = pathlib.Path(args.binary)
    if not binary.exists():
        raise SystemExit(f"{binary} not found: run `swift build -c release` first")
    load_before, revision = os.getloadavg(), commit()
    pngs = [p.read_bytes() for p in PATCHES]
    bodies = [(png, "image/png", 1) for png in pngs]
    mix = AttackMix("http://127.0.0.1:1")           # bodies built once, before any phase; the URL is set below

    process, url = start_server(binary)             # default settings: the limits under test are the defaults
    pid = process.pid
    assert urllib.parse.urlsplit(url).hostname == "127.0.0.1"
    mix.retarget(url)
    run_clients(url + "/v1/score", bodies, args.capacity_clients, 2)        # warm-up
    reset_peak_rss(pid)
    capacity_run = run_clients(url + "/v1/score", bodies, args.capacity_clients, args.capacity_seconds)
    capacity = capacity_run["patches"] / capacity_run["wall"]
    capacity_peak = peak_rss_mib(pid)
    rate = capacity / 2
    print(f"capacity {capacity:.1f} patches/s ({args.capacity_clients} closed-loop clients); "
          f"legitimate load {rate:.1f} patches/s from {args.clients} clients", flush=True)

    phases = []
    for round_index in range(args.rounds):
        phases.append(run_phase(f"round {round_index + 1} baseline", pid, url, bodies, rate, args, None))
        phases.append(run_phase(f"round {round_index + 1} attack", pid, url, bodies, rate, args, mix))
    alive = process.poll() is None and pathlib.Path(f"/proc/{pid}").exists()
    status = stop_server(process) if alive else process.returncode

    baselines = [p for p in phases if p["name"].endswith("baseline")]
    attacks = [p for p in phases if p["name"].endswith("attack")]
    ratios = [a["rate"] / b["rate"] for b, a in zip(baselines, attacks)]
    ratio = statistics.median(ratios)
    peaks = [value for value in [capacity_peak] + [p["peak_rss"] for p in phases] if value == value]
    peak = max(peaks) if len(peaks) == 1 + len(phases) else float("nan")     # NaN: a phase ended without a server
    totals = {kind: {"sent": 0, "expected": 0, "other": {}, "errors": 0} for kind in RATES}
    for phase in attacks:
        for kind, tally in phase["attacks"].items():
            totals[kind]["sent"] += tally["sent"]
            totals[kind]["expected"] += tally["expected"]
            totals[kind]["errors"] += tally["errors"]
            for code, n in tally["other"].items():
                totals[kind]["other"][code] = totals[kind]["other"].get(code, 0) + n
    checks = {
        "legitimate throughput under attack ≥ 0.9× attack-free (median of rounds)": ratio >= 0.9,
        "server peak RSS < 1 GiB (default settings)": peak < 1024,      # False for NaN
        "no crash: the same server process ran throughout and exited 0 on SIGTERM": alive and status == 0,
    }
    verdict = "PASS" if all(checks.values()) else "FAIL"
    line = (f"{verdict}: legitimate throughput {ratio:.2f}× attack-free (rounds {', '.join(f'{r:.2f}' for r in ratios)}), "
            f"peak RSS {peak:.0f} MiB, {'no crash' if alive and status == 0 else 'CRASHED or exit ' + str(status)}")
    load = (load_before[0], os.getloadavg()[0])
    write_report(args, capacity, rate, phases, ratios, ratio, peak, capacity_peak, totals, checks, line, load, revision)
    print(line)
    raise SystemExit(0 if verdict == "PASS" else 1)


def write_report(args, capacity, rate, phases, ratios, ratio, peak, capacity_peak, totals, checks, verdict, load,
                 revision) -> None:
    command = "python3 " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    lines = [
        "# Attack under load", "",
        "Generated by `bench/attack_load.py` (do not edit by hand; rerun it). Issue 13: legitimate clients at half the",
        "measured capacity, alternating phases without and with a hostile mix, against `histoae serve` with its",
        "default limits (README.md 'Limits').", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {load_test.machine_summary(args.binary)} (clients, attackers and server share the cores); "
        f"1-minute load average {load[0]:.2f} before the run, {load[1]:.2f} after (above the CPU count, another "
        "process competed for the cores and the capacity is underestimated)",
        f"- commit: {revision}",
        f"- binary: `{os.path.relpath(args.binary, ROOT)}` built "
        f"{datetime.datetime.fromtimestamp(os.path.getmtime(args.binary)).isoformat(timespec='seconds')}, "
        "`histoae serve --port 0` (all limits at their defaults)",
        f"- command: `{command}`", "",
        f"Capacity (closed loop, {args.capacity_clients} keep-alive clients, {args.capacity_seconds:g} s): "
        f"**{capacity:.1f} patches/s**. Legitimate load: {rate:.1f} patches/s (half), open loop, from {args.clients} "
        f"keep-alive clients posting single PNG patches to `/v1/score`; {args.seconds:g} s per phase.", "",
        "| phase | legitimate patches/s | p50 ms | p99 ms | non-200 / errors | server CPU s | server peak RSS MiB |",
        "|---|---:|---:|---:|---|---:|---:|",
        *[f"| {p['name']} | {p['rate']:.1f} | {p['p50']:.0f} | {p['p99']:.0f} | "
          f"{sum(p['other'].values())} ({p['other'] or '-'}) / {p['errors']} | {p['cpu']:.1f} | {p['peak_rss']:.0f} |"
          for p in phases], "",
        f"Attack / baseline throughput, per round: {', '.join(f'{r:.2f}×' for r in ratios)}; median **{ratio:.2f}×**. "
        f"Peak RSS over the run: **{peak:.0f} MiB** (capacity phase {capacity_peak:.0f} MiB).", "",
        "Attacks (all attack phases together; rates per attack phase):", "",
        "| attack | rate | sent | answered as the contract says | other statuses | connection errors |",
        "|---|---|---:|---:|---|---:|",
        *[f"| {kind} | {RATE_TEXT[kind].format(RATES[kind])} | {t['sent']} | {t['expected']} | "
          f"{t['other'] or '-'} | {t['errors']} |" for kind, t in totals.items()], "",
        "What each attack is and what it should get: " + "; ".join(f"**{k}**: {v}" for k, v in ATTACK_TEXT.items()) + ".",
        "", "Checks:", "", *[f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()], "",
        f"Verdict: {verdict}", "",
    ]
    pathlib.Path(args.report).write_text("\n".join(lines))


RATE_TEXT = {kind: "{} requests/s" for kind in RATES} | {"slowloris": "{} connections, 1 header byte/s each"}
ATTACK_TEXT = {
    "slowloris": "never-ending header sections; closed by the 10 s header timeout (408 or close), then reopened",
    "png_text_bomb": "a valid 150×150 PNG with 240 zTXt/iTXt chunks inflating to 840 MB in all (0.87 MB sent); 200",
    "large_dimension": "a 4096×4096 PNG, a 4096×4096 JPEG with 400 scans, a 150×150 JPEG with 100 scans; 422",
    "oversized_body": "Content-Length 20 MiB (limit 16 MiB), sent until the answer; 413 before the body",
    "maps_array": "256 patches (3 KB JPEGs) with ?maps=array: a worst-case answer over the 64 MiB response limit (`--max-response-bytes`); "
                  "413 before compute",
    "disconnect_mid_upload": "half of a 4-patch upload, then a reset; no answer expected",
    "broken_multipart": "the malformed bodies of live_tests/hostile_multipart.py in turn; 400 / 413 / 415",
}


if __name__ == "__main__":
    main()
