"""A raw-socket HTTP/1.1 client for hostile tests (requests and urllib hide what a server does mid-request), and
the server-side checks every hostile case ends with.

    with raw_connection(server.url) as sock:
        sock.sendall(b"POST /v1/score HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 99999999\\r\\n\\r\\n")
        answer = read_answer(sock, timeout=2)       # Answer(status, headers, body), or None if closed unanswered
    assert_alive(server, png)                       # same process, and a valid patch still scores 200
"""
from __future__ import annotations

import json
import pathlib
import select
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlparse

import requests


@dataclass
class Answer:
    status: int
    headers: dict       # names lowercased
    body: bytes

    def problem(self, status: int) -> dict:
        """Asserts an RFC 9457 problem+json answer with `status` and returns its body."""
        assert self.status == status, (self.status, self.body[:300])
        assert self.headers.get("content-type") == "application/problem+json", self.headers
        body = json.loads(self.body)
        assert body["status"] == status and body["title"] and body["detail"], body
        return body


def address(url: str) -> tuple:
    parsed = urlparse(url)
    return parsed.hostname, parsed.port


def connect(url: str, timeout: float = 10) -> socket.socket:
    return socket.create_connection(address(url), timeout=timeout)


@contextmanager
def raw_connection(url: str, timeout: float = 10):
    sock = connect(url, timeout)
    try:
        yield sock
    finally:
        sock.close()


def read_answer(sock: socket.socket, timeout: float) -> Answer | None:
    """The next response on `sock`, or None when the server closes (or resets) it without one. Raises
    TimeoutError if neither happens within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    data = b""

    def more() -> bytes:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            raise TimeoutError(f"no answer and no close within {timeout} s (got {data[:80]!r})")
        try:
            return sock.recv(65536)
        except ConnectionResetError:
            return b""

    while b"\r\n\r\n" not in data:
        chunk = more()
        if not chunk:
            return None if not data else _parse(data, closed=True)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    answer = _parse(head, closed=False)
    length = int(answer.headers.get("content-length", "0"))
    while len(body) < length:
        chunk = more()
        if not chunk:
            break
        body += chunk
    answer.body = body[:length]
    return answer


def _parse(head: bytes, closed: bool) -> Answer:
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(status, headers, b"")


def closed_or_answer(sock: socket.socket, timeout: float) -> tuple:
    """(answer or None, seconds until it came or the socket closed)."""
    started = time.monotonic()
    answer = read_answer(sock, timeout)
    return answer, time.monotonic() - started


def send_quietly(sock: socket.socket, data: bytes) -> bool:
    """Sends what the server still takes; False once it has closed or reset the connection."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, socket.timeout, TimeoutError):
        return False


# MARK: the server's side

def memory_mib(pid: int) -> dict:
    """{'VmRSS': MiB, 'VmHWM': MiB} of a process."""
    values = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(line.split()[1]) / 1024
    return values


def reset_peak_memory(pid: int) -> None:
    """Sets VmHWM back to the current RSS (proc(5): writing 5 to clear_refs), so a peak measures one case."""
    pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")


def assert_alive(server, png: bytes, headers: dict | None = None, grace: float = 0.0) -> None:
    """The same process still runs and a valid patch is scored 200. `grace`: seconds in which a 503 (a cap the
    case itself filled, not yet released) is retried."""
    assert server.process.poll() is None, "the server exited:\n" + "".join(server.stderr_lines[-20:])
    deadline = time.monotonic() + grace
    while True:
        try:
            response = requests.post(server.url + "/v1/score", data=png, timeout=30,
                                     headers={"Content-Type": "image/png", "Connection": "close", **(headers or {})})
            if response.status_code == 200:
                assert len(response.json()["patches"]) == 1
                break
            failure = f"a valid patch got {response.status_code}: {response.text[:300]}"
        except requests.ConnectionError as error:
            failure = f"a valid patch got no answer: {error}"
        assert time.monotonic() < deadline, failure
        time.sleep(0.1)
    assert server.process.poll() is None, "the server exited:\n" + "".join(server.stderr_lines[-20:])


def scored_patches(server) -> float:
    """`histoae_patches_total{outcome="scored"}` from /metrics."""
    for line in requests.get(server.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith('histoae_patches_total{outcome="scored"}'):
            return float(line.split()[-1])
    return 0.0
