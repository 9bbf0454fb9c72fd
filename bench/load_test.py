#!/usr/bin/env python3
"""Load test of `histoae serve` on loopback, compared with `histoae bench` in the same run.

    swift build -c release && python3 bench/load_test.py [--clients 32] [--seconds 20] [--rounds 5]

Phases, each bounded in time:
  1. Throughput, in <rounds> alternating rounds (this machine's speed drifts by ±20 % over minutes, so one
     engine run followed by one service run can differ by that much for no reason of their own):
       a. `histoae bench --batch 1 --clients <clients>`: the one engine the server runs, at the server's default
          settings, fed as <clients> clients of single patches would feed it, each patch one of the PNG files the
          clients upload, decoded as the server decodes uploads: every step of /v1/score but HTTP; images/s (the peer), <seconds>/2;
       b. <clients> concurrent clients (one keep-alive connection each) POST single patches to /v1/score of a
          server with default settings (started once, idle during a) for <seconds>.
     Reports the median of the per-round ratios service / engine and latency percentiles at full load.
  2. Half load (<clients>/2 clients): throughput and latency; then one client alone (sequential requests, each
     finding the server idle: the service's single-patch latency), against `histoae bench --batch 1 --clients 1`
     (the engine's ms per lone patch) in alternating rounds.
  3. Overflow: a server with a 16-patch queue; <clients> clients POST 4-patch multipart requests. Some must be
     refused at once with 503 + Retry-After; every request must finish (no hang).
Writes a Markdown report (default bench/load_results.md) and exits 1 if a check fails.
"""
import argparse
import datetime
import http.client
import os
import pathlib
import platform
import re
import selectors
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
PATCHES = [ROOT / "Tests/ScoringTests/Fixtures/patch0.png", ROOT / "Tests/ScoringTests/Fixtures/patch1.png"]


def start_server(binary, *args):
    process = subprocess.Popen([str(binary), "serve", "--port", "0", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith("histoae: listening on "):
            return process, line.split()[-1]
    raise SystemExit("histoae serve did not start")


def stop_server(process):
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=120)


def peak_rss(pid):
    """The process's peak resident set size in MB (VmHWM)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def multipart_body(parts, boundary="histoae-load-test"):
    """A multipart/form-data body of (field, filename, bytes, content type) parts, and its Content-Type."""
    chunks = []
    for field, filename, data, kind in parts:
        chunks += [f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
                   f"Content-Type: {kind}\r\n\r\n".encode(), data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def run_clients(url, bodies, clients, seconds, headers=None, timeout=120):
    """`clients` keep-alive connections, each looping over `bodies` — (bytes, content type, patches) — until
    `seconds` pass, driven from one thread with non-blocking sockets (selectors): the clients share the server's
    cores, so they are kept lean (one thread, no GIL hand-offs; prebuilt requests; responses parsed only for
    their status, Retry-After and length). Returns outcomes and latencies."""
    target = urllib.parse.urlsplit(url)
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    requests_bytes = [(f"POST {target.path} HTTP/1.1\r\nHost: {target.hostname}\r\nContent-Type: {kind}\r\n"
                       f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body
                      for body, kind, _ in bodies]
    results = {"ok": 0, "patches": 0, "503": 0, "retry_after": [], "other": [], "latencies": [], "hung": 0}
    selector = selectors.DefaultSelector()
    started = time.monotonic()
    stop_at = started + seconds

    class Client:
        def __init__(self, index):
            self.index, self.sock = index, None
            self.connect()

        def connect(self):
            if self.sock is not None:
                selector.unregister(self.sock)
                self.sock.close()
            self.sock = socket.create_connection((target.hostname, target.port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.setblocking(False)
            selector.register(self.sock, selectors.EVENT_WRITE, self)
            self.start_request()

        def start_request(self):
            self.pending = memoryview(requests_bytes[self.index % len(requests_bytes)])
            self.patches = bodies[self.index % len(bodies)][2]
            self.index += 1
            self.received, self.sent_at = bytearray(), time.monotonic()
            selector.modify(self.sock, selectors.EVENT_WRITE, self)

        def on_writable(self):
            try:
                self.pending = self.pending[self.sock.send(self.pending):]
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                self.connect()
                return True
            if not self.pending:
                selector.modify(self.sock, selectors.EVENT_READ, self)
            return True

        def on_readable(self):
            """False when this client is done (time is up after an answer)."""
            try:
                chunk = self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                chunk = b""
            if not chunk:                      # closed by the server (after an error answer): reconnect
                if time.monotonic() >= stop_at:
                    return False
                self.connect()
                return True
            self.received += chunk
            head_end = self.received.find(b"\r\n\r\n")
            if head_end < 0:
                return True
            head = self.received[:head_end].decode("latin-1").split("\r\n")
            fields = {line.split(":", 1)[0].strip().lower(): line.split(":", 1)[1].strip()
                      for line in head[1:] if ":" in line}
            if len(self.received) - head_end - 4 < int(fields.get("content-length", "0")):
                return True
            status = int(head[0].split()[1])
            elapsed = time.monotonic() - self.sent_at
            if status == 200:
                results["ok"] += 1
                results["patches"] += self.patches
                results["latencies"].append(elapsed)
            elif status == 503:
                results["503"] += 1
                results["retry_after"].append(fields.get("retry-after"))
            else:
                results["other"].append(status)
            if time.monotonic() >= stop_at:
                return False
            if fields.get("connection", "").lower() == "close":
                self.connect()
            else:
                self.start_request()
            return True

    active = {Client(k) for k in range(clients)}
    while active:
        events = selector.select(timeout=1.0)
        if not events and time.monotonic() > stop_at + timeout:
            results["hung"] += len(active)
            break
        for key, mask in events:
            client = key.data
            if client not in active:
                continue
            keep = client.on_writable() if mask & selectors.EVENT_WRITE else client.on_readable()
            if not keep:
                selector.unregister(client.sock)
                client.sock.close()
                active.discard(client)
    for client in active:
        client.sock.close()
    results["wall"] = time.monotonic() - started
    return results


def run_paced(url: str, bodies: list, rate: float, clients: int, seconds: float) -> dict:
    """Request j is due at start + j / rate and sent by client j mod `clients` on its keep-alive connection
    (immediately if that client is still busy). Latency: from sending to the whole answer."""
    target = urllib.parse.urlsplit(url)
    start = time.monotonic()
    stop_at = start + seconds
    lock = threading.Lock()
    results = {"ok": 0, "latencies": [], "other": {}, "errors": 0}

    def client(k: int) -> None:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        j = k
        while True:
            due = start + j / rate
            if due >= stop_at:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            body, kind, _ = bodies[j % len(bodies)]
            j += clients
            sent = time.monotonic()
            try:
                connection.request("POST", target.path, body=body, headers={"Content-Type": kind})
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                with lock:
                    results["errors"] += 1
                continue
            with lock:
                if response.status == 200:
                    results["ok"] += 1
                    results["latencies"].append(time.monotonic() - sent)
                else:
                    results["other"][response.status] = results["other"].get(response.status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results["wall"] = max(seconds, time.monotonic() - start)
    return results


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def machine_summary(binary) -> str:
    """The CPU, its cores and the GEMM kernel, as `histoae machine` names them (one line)."""
    out = subprocess.run([str(binary), "machine"], capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return f"{fields.get('cpu', 'unknown CPU')}; GEMM: {fields.get('GEMM', 'unknown')}"


def thread_cpu(pid) -> tuple:
    """CPU seconds (user + system) the process's engine workers (threads named `hae-worker-N`) and its other
    threads (HTTP, codecs, async tasks) have used so far."""
    tick, workers, other = os.sysconf("SC_CLK_TCK"), 0.0, 0.0
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:          # the thread ended meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if name.startswith("hae-worker-"):
            workers += seconds
        else:
            other += seconds
    return workers, other


def bench(binary, batch: int, clients: int, seconds: float) -> tuple:
    """`histoae bench` at the server's default settings on the PNG files the clients upload (decoding cost
    depends on the content): (images/s, ms/image)."""
    patches = [arg for path in PATCHES for arg in ("--patch", str(path))]   # the clients' uploads
    out = subprocess.run([str(binary), "bench", "--batch", str(batch), "--clients", str(clients),
                          "--seconds", str(seconds), *patches], capture_output=True, text=True, check=True).stdout
    match = re.search(r"([0-9.]+) images/s .* ([0-9.]+) ms/image", out)
    return float(match.group(1)), float(match.group(2))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/histoae"))
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--report", default=str(ROOT / "bench/load_results.md"))
    args = parser.parse_args()
    binary = pathlib.Path(args.binary)
    if not binary.exists():
        raise SystemExit(f"{binary} not found: run `swift build -c release` first")
    pngs = [p.read_bytes() for p in PATCHES]
    cores = os.cpu_count()

    # 1. Engine and service, alternating.
    process, url = start_server(binary)
    bodies = [(png, "image/png", 1) for png in pngs]
    run_clients(url + "/v1/score", bodies, args.clients, 2)   # warm-up
    rounds, latencies, answered = [], [], 0
    cpu = {"workers": 0.0, "other": 0.0, "clients": 0.0, "patches": 0, "wall": 0.0}
    for round_index in range(args.rounds):
        bench_rate = bench(binary, 1, args.clients, max(3.0, args.seconds / 2))[0]
        server_before, clients_before = thread_cpu(process.pid), os.times()
        load = run_clients(url + "/v1/score", bodies, args.clients, args.seconds)
        server_after, clients_after = thread_cpu(process.pid), os.times()
        cpu["workers"] += server_after[0] - server_before[0]
        cpu["other"] += server_after[1] - server_before[1]
        cpu["clients"] += (clients_after.user - clients_before.user) + (clients_after.system - clients_before.system)
        cpu["patches"] += load["patches"]
        cpu["wall"] += load["wall"]
        rate = load["patches"] / load["wall"]
        rounds.append((bench_rate, rate, load))
        latencies += load["latencies"]
        answered += load["ok"]
        print(f"round {round_index + 1}/{args.rounds}: bench {bench_rate:.1f} images/s, serve {rate:.1f} patches/s "
              f"= {rate / bench_rate:.2f}x", flush=True)

    # 2. Half load, then one client alone (each request finds the server idle), alternating with the engine's
    #    lone-patch latency.
    half = run_clients(url + "/v1/score", bodies, max(1, args.clients // 2), args.seconds / 2)
    lone_latencies, lone_pairs = [], []
    for _ in range(args.rounds):
        engine_ms = bench(binary, 1, 1, max(2.0, args.seconds / 4))[1]
        lone = run_clients(url + "/v1/score", bodies, 1, args.seconds / 4)
        lone_latencies += lone["latencies"]
        lone_pairs.append((engine_ms, statistics.median(lone["latencies"]) * 1000))
    lone = {"latencies": lone_latencies, "other": [], "503": 0, "hung": 0}
    lone_ratio = statistics.median(served / engine for engine, served in lone_pairs)
    peak_rss_mb = peak_rss(process.pid)
    status = stop_server(process)
    ratios = [rate / bench_rate for bench_rate, rate, _ in rounds]
    ratio = statistics.median(ratios)
    bench_median = statistics.median(b for b, _, _ in rounds)
    rate_median = statistics.median(r for _, r, _ in rounds)
    def percentile(values, q):
        lat = sorted(values)
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")
    p = lambda q: percentile(latencies, q)
    half_rate = half["patches"] / half["wall"]
    print(f"serve / bench: median {ratio:.2f}x of rounds {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms; one client alone {lone_ratio:.2f}x the engine's lone-patch "
          f"latency; exit {status}")

    # 3. Overflow.
    process, url = start_server(binary, "--queue-capacity", "16", "--max-patches", "4")
    multipart, multipart_type = multipart_body([("patch", f"p{i}.png", pngs[i % 2], "image/png") for i in range(4)])
    overflow = run_clients(url + "/v1/score", [(multipart, multipart_type, 4)], args.clients, min(10, args.seconds))
    overflow_status = stop_server(process)
    retry_ok = all(v is not None and v.isdigit() and int(v) >= 1 for v in overflow["retry_after"])
    print(f"overflow: {overflow['ok']} answered, {overflow['503']} refused with 503 "
          f"(Retry-After {sorted(set(overflow['retry_after']))}), other {overflow['other']}, hung {overflow['hung']}")

    checks = {
        "throughput ≥ 95% of histoae bench at the same settings (median of rounds)": ratio >= 0.95,
        "one client alone within 1.2× of histoae bench --batch 1 --clients 1 (median of rounds)": lone_ratio <= 1.2,
        "no errors under load": all(not r["other"] and r["503"] == 0 and r["hung"] == 0
                                    for r in [half, lone] + [load for _, _, load in rounds]),
        "overflow refused with 503 + Retry-After": overflow["503"] > 0 and retry_ok,
        "overflow: every request finished, none hung": overflow["hung"] == 0 and not overflow["other"],
        "servers exited 0 on SIGTERM": status == 0 and overflow_status == 0,
    }
    lines = [
        "# HTTP load test", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {machine_summary(binary)}, Linux {platform.release()}",
        f"- command: `python3 bench/load_test.py --clients {args.clients} --seconds {args.seconds:g} --rounds {args.rounds}` "
        "(release build)",
        f"- server: defaults (workers = {cores}, one patch per pass); clients on the same machine share its "
        f"{cores} cores", "",
        "| measurement | value |", "|---|---:|",
        f"| `histoae bench --batch 1 --clients {args.clients}` (median of rounds) | {bench_median:.1f} images/s |",
        f"| `/v1/score`, {args.clients} clients, single-patch PNG requests, {args.seconds:g} s (median of rounds) | "
        f"{rate_median:.1f} patches/s |",
        f"| ratio serve / bench, median of the rounds' ratios | {ratio:.2f}× |",
        f"| each round: bench, serve, ratio | "
        f"{'; '.join(f'{b:.1f}, {r:.1f}, {r / b:.2f}×' for b, r, _ in rounds)} |",
        f"| requests answered 200 at full load | {answered} |",
        f"| where the cores went at full load (all rounds, {cores} × {cpu['wall']:.0f} s = {cores * cpu['wall']:.0f} core-s): "
        "engine workers, other server threads (HTTP, multipart, PNG decoding, JSON), load clients | "
        f"{cpu['workers']:.1f} core-s ({1000 * cpu['workers'] / max(1, cpu['patches']):.1f} ms/patch), "
        f"{cpu['other']:.1f} core-s ({1000 * cpu['other'] / max(1, cpu['patches']):.2f} ms/request), "
        f"{cpu['clients']:.1f} core-s |",
        f"| latency p50 / p90 / p99 at full load ({args.clients} clients) | {p(0.5):.0f} / {p(0.9):.0f} / {p(0.99):.0f} ms |",
        f"| half load ({max(1, args.clients // 2)} clients, {args.seconds / 2:g} s): throughput, latency p50 / p99 | "
        f"{half_rate:.1f} patches/s, {percentile(half['latencies'], 0.5):.0f} / "
        f"{percentile(half['latencies'], 0.99):.0f} ms |",
        f"| one client alone ({args.rounds} × {args.seconds / 4:g} s, sequential): latency p50 / p90 | "
        f"{percentile(lone['latencies'], 0.5):.0f} / {percentile(lone['latencies'], 0.9):.0f} ms |",
        f"| `histoae bench --batch 1 --clients 1` ms/image, one client's p50 ms, ratio, per round | "
        f"{'; '.join(f'{e:.1f}, {v:.1f}, {v / e:.2f}×' for e, v in lone_pairs)} |",
        f"| one client alone / the engine's lone patch, median of rounds | {lone_ratio:.2f}× |",
        f"| server peak RSS (VmHWM) | {peak_rss_mb:.0f} MB |",
        f"| overflow phase ({args.clients} clients × 4-patch requests, 16-patch queue) | {overflow['ok']} answered, "
        f"{overflow['503']} × 503 (Retry-After {', '.join(sorted(set(map(str, overflow['retry_after']))))} s), "
        f"{overflow['hung']} hung |", "",
        "Checks:", "", *[f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()], "",
    ]
    pathlib.Path(args.report).write_text("\n".join(lines))
    print("\n".join(f"{'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()))
    raise SystemExit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
