"""The attack mix of `bench/attack_load.py`: hostile clients of `histoae serve`, each paced and bounded in time.

    from attacks import AttackMix
    mix = AttackMix("http://127.0.0.1:8080")
    tallies = mix.run(seconds=30)      # {kind: {"sent": n, "expected": n, "other": {status: n}, "errors": n}}

Each kind runs in its own thread at a fixed rate (`RATES`), only against the given loopback address; the bodies
come from live_tests/hostile_corpus.py and hostile_multipart.py. An attack "as expected" is one the server answered
the way README.md "Limits" says (the status, or closing the connection where that is the answer).
"""
from __future__ import annotations

import io
import pathlib
import select
import socket
import sys
import threading
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "live_tests"))
from hostile_client import read_answer, send_quietly  # noqa: E402
from hostile_corpus import flat_png, many_scan_jpeg, text_bomb_png  # noqa: E402
from hostile_multipart import CONTENT_TYPE, close, multipart_corpus, part  # noqa: E402

# Requests per second of each kind; slowloris is a number of connections, each sending a header byte a second.
RATES = {"slowloris": 128, "png_text_bomb": 4, "large_dimension": 4, "oversized_body": 2, "maps_array": 2,
         "disconnect_mid_upload": 4, "broken_multipart": 4}


class AttackMix:
    def __init__(self, url: str, rates: dict | None = None):
        self.retarget(url)
        self.rates = {**RATES, **(rates or {})}
        self.lock = threading.Lock()
        png = (ROOT / "Tests/ScoringTests/Fixtures/patch0.png").read_bytes()
        from PIL import Image
        self.png = png
        tiny = io.BytesIO()
        Image.open(io.BytesIO(png)).convert("RGB").save(tiny, "JPEG", quality=10)
        tiny_jpeg = tiny.getvalue()
        self.bodies = {
            "png_text_bomb": [(text_bomb_png(png), "image/png")],
            "large_dimension": [(flat_png(4096, 4096), "image/png"),
                                (many_scan_jpeg(Image.new("RGB", (4096, 4096), (200, 90, 160)), 400), "image/jpeg"),
                                (many_scan_jpeg(Image.open(io.BytesIO(png)), 100), "image/jpeg")],
            # 256 patches (the default --max-patches) of a 3 KB JPEG: a small upload asking for a huge answer.
            "maps_array": [(b"".join(part(tiny_jpeg) for _ in range(256)) + close(), CONTENT_TYPE)],
            "broken_multipart": [(case.body, case.content_type) for case in multipart_corpus(png)
                                 if case.allowed != (200,) and 200 not in case.allowed],
        }

    def retarget(self, url: str) -> None:
        target = urllib.parse.urlsplit(url)
        assert target.hostname in ("127.0.0.1", "localhost", "::1"), "attacks go to loopback only"
        self.address = (target.hostname, target.port)

    def run(self, seconds: float) -> dict:
        """Every attack kind at once for `seconds`; the tallies of this run."""
        self.stop_at = time.monotonic() + seconds
        self.tallies = {kind: {"sent": 0, "expected": 0, "other": {}, "errors": 0} for kind in self.rates}
        threads = [threading.Thread(target=self._slowloris, daemon=True)]
        threads += [threading.Thread(target=self._paced, args=(kind,), daemon=True)
                    for kind in self.rates if kind != "slowloris" and self.rates[kind] > 0]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, self.stop_at - time.monotonic()) + 30)
        return self.tallies

    # MARK: bookkeeping

    def _count(self, kind: str, outcome) -> None:
        """outcome: True (answered as the contract says), an unexpected status, or None (a connection error)."""
        with self.lock:
            tally = self.tallies[kind]
            tally["sent"] += 1
            if outcome is True:
                tally["expected"] += 1
            elif outcome is None:
                tally["errors"] += 1
            else:
                tally["other"][outcome] = tally["other"].get(outcome, 0) + 1

    def _paced(self, kind: str) -> None:
        interval, next_at, index = 1.0 / self.rates[kind], time.monotonic(), 0
        attack = getattr(self, "_" + kind)
        while time.monotonic() < self.stop_at:
            try:
                outcome = attack(index)
            except (OSError, TimeoutError):
                outcome = None
            self._count(kind, outcome)
            index += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _connect(self, timeout: float = 10) -> socket.socket:
        return socket.create_connection(self.address, timeout=timeout)

    def _post(self, path: str, body: bytes, kind: str, expected: tuple):
        with self._connect() as sock:
            head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n").encode()
            send_quietly(sock, head + body)
            answer = read_answer(sock, timeout=30)
            status = None if answer is None else answer.status
            return True if status in expected else status

    # MARK: the attacks

    def _png_text_bomb(self, index: int):
        body, kind = self.bodies["png_text_bomb"][0]
        return self._post("/v1/score", body, kind, (200,))

    def _large_dimension(self, index: int):
        body, kind = self.bodies["large_dimension"][index % 3]
        return self._post("/v1/score", body, kind, (422,))

    def _maps_array(self, index: int):
        body, kind = self.bodies["maps_array"][0]
        return self._post("/v1/reconstruct?maps=array", body, kind, (413,))

    def _broken_multipart(self, index: int):
        bodies = self.bodies["broken_multipart"]
        body, kind = bodies[index % len(bodies)]
        return self._post("/v1/score", body, kind, (400, 413, 415))

    def _oversized_body(self, index: int):
        """Declares 20 MiB (over the 16 MiB default) and sends until the 413 arrives: it must come early."""
        with self._connect() as sock:
            send_quietly(sock, b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                               b"Content-Length: 20971520\r\n\r\n")
            chunk, sent = bytes(256 << 10), 0
            while sent < 20 << 20 and not select.select([sock], [], [], 0)[0] and send_quietly(sock, chunk):
                sent += len(chunk)
            answer = read_answer(sock, timeout=10)
            return True if answer is None or answer.status == 413 else answer.status

    def _disconnect_mid_upload(self, index: int):
        """Half of a 4-patch upload, then an abrupt close (RST): nothing to answer; the server must just cope."""
        body = b"".join(part(self.png) for _ in range(4)) + close()
        with self._connect() as sock:
            send_quietly(sock, (f"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: {CONTENT_TYPE}\r\n"
                                f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:len(body) // 2])
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        return True

    def _slowloris(self) -> None:
        """RATES["slowloris"] connections, each sending one more header byte a second; a connection the server
        closes (408 or no answer) counts as expected and is replaced by a new one."""
        count = self.rates["slowloris"]
        if count <= 0:
            return
        head = b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 40000\r\n"
        slots = [None] * count      # (socket, bytes sent)
        while time.monotonic() < self.stop_at:
            for i in range(count):
                if slots[i] is None:
                    try:
                        slots[i] = (self._connect(timeout=5), 0)
                    except OSError:
                        self._count("slowloris", None)
                        continue
                sock, sent = slots[i]
                if select.select([sock], [], [], 0)[0]:
                    try:
                        answer = read_answer(sock, timeout=2)
                        outcome = True if answer is None or answer.status in (408, 503) else answer.status
                    except (OSError, TimeoutError):
                        outcome = None
                    sock.close()
                    slots[i] = None
                    self._count("slowloris", outcome)
                elif not send_quietly(sock, head[sent % len(head):sent % len(head) + 1]):
                    sock.close()
                    slots[i] = None
                    self._count("slowloris", True)
                else:
                    slots[i] = (sock, sent + 1)
            time.sleep(max(0.0, min(1.0, self.stop_at - time.monotonic())))
        for slot in slots:
            if slot is not None:
                slot[0].close()
