"""Hostile clients against a live `histoae serve` (issue 13): one test per class of finding, and a broken-input corpus.

The contract is README.md "Limits" (flags and answers of every limit). Every case ends with `assert_alive`: the same
process still runs and a valid patch is still scored 200. Raw sockets where `requests` would hide what the server
does mid-request. Servers: conftest.py's `hostile_server` (1 s timeouts, small caps) and `hostile_slow_server`.
"""
import io
import re
import select
import threading
import time
import urllib.error
import urllib.request

import pytest
import requests
from PIL import Image

from conftest import API_KEY, patch_bytes
from hostile_client import (assert_alive, closed_or_answer, connect, memory_mib, raw_connection, read_answer,
                            reset_peak_memory, scored_patches, send_quietly)
from hostile_corpus import flat_png, image_corpus, many_scan_jpeg, text_bomb_png
from hostile_multipart import BOUNDARY, CONTENT_TYPE, close, multipart_corpus, part

PNG_PATCH = patch_bytes("ScoringTests/Fixtures/patch0.png")


def post(server, body: bytes, content_type: str, path: str = "/v1/score", **headers) -> requests.Response:
    return requests.post(server.url + path, data=body, timeout=60,
                         headers={"Content-Type": content_type, "Connection": "close", **headers})


def problem(response: requests.Response, statuses) -> dict:
    """Asserts a problem+json answer whose status is one of `statuses`; returns its body."""
    statuses = statuses if isinstance(statuses, tuple) else (statuses,)
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == response.status_code and body["title"] and body["detail"]
    return body


def request_head(path: str = "/v1/score", content_length: int | None = None, kind: str = "image/png") -> bytes:
    length = "" if content_length is None else f"Content-Length: {content_length}\r\n"
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n{length}\r\n".encode()


# MARK: broken inputs

@pytest.mark.parametrize("case", multipart_corpus(PNG_PATCH), ids=lambda case: case.name)
def test_broken_multipart(hostile_server, png, case):
    response = post(hostile_server, case.body, case.content_type)
    if response.status_code != 200:
        problem(response, case.allowed)
    assert response.status_code in case.allowed, (response.status_code, response.text[:300])
    assert_alive(hostile_server, png)


@pytest.mark.parametrize("case", image_corpus(PNG_PATCH), ids=lambda case: case.name)
def test_broken_image(hostile_server, png, case):
    response = post(hostile_server, case.body, case.content_type)
    if response.status_code == 200:
        assert 200 in case.allowed and len(response.json()["patches"]) == 1
    else:
        body = problem(response, case.allowed)
        if response.status_code == 422 and re.fullmatch(r"\d+×\d+ (PNG|JPEG)", case.name):
            width, height = Image.open(io.BytesIO(case.body)).size
            assert (body["width"], body["height"], body["patch"]) == (width, height, 0), body
    assert_alive(hostile_server, png)


def test_part_header_name_with_a_high_byte_is_400_not_a_trap(hostile_server, png):
    """The finding: a part header named `\\xffX` (a 392-byte body in the report) trapped the process in the
    multipart parser; a trap ends the server for every client."""
    body = part(b"\x89PNG", headers=b"\xffX: y\r\n") + close()
    problem(post(hostile_server, body, CONTENT_TYPE), 400)
    assert_alive(hostile_server, png)


def test_body_cut_inside_a_part_without_headers_is_400(hostile_server, png):
    body = part(png) + f"--{BOUNDARY}\r\n\r\n".encode() + png[:3000]
    problem(post(hostile_server, body, CONTENT_TYPE), 400)
    assert_alive(hostile_server, png)


def test_png_text_chunk_bombs_are_discarded_with_flat_memory(hostile_server, png):
    bomb = text_bomb_png(png)       # 240 zTXt/iTXt chunks inflating to 3.5 MB each, 0.87 MB on the wire
    pid = hostile_server.process.pid
    reset_peak_memory(pid)
    before = memory_mib(pid)["VmHWM"]
    started = time.monotonic()
    response = post(hostile_server, bomb, "image/png")
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and len(response.json()["patches"]) == 1, response.text[:300]
    growth = memory_mib(pid)["VmHWM"] - before
    assert growth < 100, f"peak RSS grew {growth:.0f} MiB"
    # Discarded, not inflated (840 MB of zlib): inflating them took 3.5 s here before issue 13.
    assert elapsed < 2.0, f"{elapsed:.1f} s"
    assert_alive(hostile_server, png)


LARGE_OR_MANY_SCANS = {
    "4096×4096 PNG": (lambda png: flat_png(4096, 4096), "image/png"),
    "4096×4096 progressive JPEG, 400 scans":
        (lambda png: many_scan_jpeg(Image.new("RGB", (4096, 4096), (200, 90, 160)), 400), "image/jpeg"),
    "150×150 progressive JPEG, 100 scans": (lambda png: many_scan_jpeg(Image.open(io.BytesIO(png)), 100), "image/jpeg"),
}


@pytest.mark.parametrize("name", LARGE_OR_MANY_SCANS)
def test_large_dimension_and_many_scan_images_are_422_before_decoding(hostile_server, png, name):
    build, kind = LARGE_OR_MANY_SCANS[name]
    body = build(png)
    pid = hostile_server.process.pid
    reset_peak_memory(pid)
    before = memory_mib(pid)["VmHWM"]
    started = time.monotonic()
    answer = problem(post(hostile_server, body, kind), 422)
    elapsed = time.monotonic() - started
    if name.startswith("4096"):
        assert (answer["width"], answer["height"], answer["patch"]) == (4096, 4096, 0), answer
    else:
        assert "scans" in answer["detail"], answer
    assert elapsed < 1.5, f"{elapsed:.1f} s: decoded before refusing?"
    growth = memory_mib(pid)["VmHWM"] - before
    assert growth < 30, f"peak RSS grew {growth:.0f} MiB: pixels allocated before refusing?"
    assert_alive(hostile_server, png)


# MARK: limits on requests and answers

def test_maps_array_amplification_is_413_before_compute(hostile_server, png, png2):
    patches = [png, png2] * 4
    body = b"".join(part(p) for p in patches) + close()
    scored = scored_patches(hostile_server)
    response = post(hostile_server, body, CONTENT_TYPE, path="/v1/reconstruct?maps=array")
    refusal = problem(response, 413)
    assert refusal["limit_bytes"] == 2097152, refusal
    assert any(name in refusal["detail"] for name in ("2097152", "2 MiB", "max-response-bytes")), refusal
    assert 1 <= refusal["max_patches"] < len(patches), refusal
    assert scored_patches(hostile_server) == scored, "patches were computed before the refusal"
    allowed = min(refusal["max_patches"], 4)
    fits = post(hostile_server, b"".join(part(p) for p in patches[:allowed]) + close(), CONTENT_TYPE,
                path="/v1/reconstruct?maps=array")
    assert fits.status_code == 200 and len(fits.content) <= 2097152, (fits.status_code, len(fits.content))
    assert_alive(hostile_server, png)


def test_413_over_the_body_limit_reaches_a_client_that_sends_everything_first(hostile_server, png):
    """urllib writes the whole body before it reads: the server must linger-drain, not reset or wait forever."""
    request = urllib.request.Request(hostile_server.url + "/v1/score", data=png + bytes(8 << 20),
                                     headers={"Content-Type": "image/png"}, method="POST")
    started = time.monotonic()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 413 and time.monotonic() - started < 5
    assert refused.value.headers["Content-Type"] == "application/problem+json"
    assert_alive(hostile_server, png)


def test_413_for_a_declared_length_comes_before_the_body(hostile_server, png):
    with raw_connection(hostile_server.url) as sock:
        sock.sendall(request_head(content_length=50 << 20))
        answer = read_answer(sock, timeout=3)
        assert answer is not None and answer.problem(413)["limit_bytes"] == 1048576
        assert answer.headers.get("connection", "").lower() == "close"
    assert_alive(hostile_server, png)


def test_endless_header_section_is_431_then_closed_with_flat_memory(hostile_server, png):
    pid = hostile_server.process.pid
    for line in (b"X-a: b\r\n", b"X-Long: " + b"v" * 1000 + b"\r\n"):
        lines = line * max(1, 1024 // len(line))
        reset_peak_memory(pid)
        before = memory_mib(pid)["VmHWM"]
        with raw_connection(hostile_server.url) as sock:
            sent = 0
            send_quietly(sock, b"POST /v1/score HTTP/1.1\r\nHost: x\r\n")
            # Paced (~1 KiB per 2 ms) so that the answer is seen within a few KiB of where the server gave it.
            while sent < 1 << 20 and not select.select([sock], [], [], 0.002)[0]:
                if not send_quietly(sock, lines):
                    break
                sent += len(lines)
            answer = read_answer(sock, timeout=3)
            if answer is not None:
                answer.problem(431)
            assert sent < 64 * 1024, f"the server took {sent} header bytes before answering"
            # A client that keeps sending is cut off once the lingering close (1 s) ends.
            started = time.monotonic()
            while send_quietly(sock, lines * 64):
                assert time.monotonic() - started < 4, "the server still reads an endless header section"
                time.sleep(0.01)
        growth = memory_mib(pid)["VmHWM"] - before
        assert growth < 20, f"peak RSS grew {growth:.0f} MiB"
    with raw_connection(hostile_server.url) as sock:     # 101 short fields: 2 KiB, under the byte limit
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n")
        answer = read_answer(sock, timeout=3)
        if answer is not None:
            answer.problem(431)
    assert_alive(hostile_server, png)


# MARK: timeouts

def test_slowloris_connections_are_closed_within_the_header_timeout(hostile_server, png):
    """12 connections each send a header byte every 0.5 s: each is closed (408 or no answer) about 1 s after its
    first byte, and meanwhile valid requests are answered."""
    head = request_head(content_length=len(png))
    sockets = [connect(hostile_server.url) for _ in range(12)]
    opened, closed_after = time.monotonic(), {}
    valid = []
    helper = threading.Thread(target=lambda: valid.append(post(hostile_server, png, "image/png").status_code))
    try:
        for step in range(12):                       # 6 s at most
            if step == 2:
                helper.start()
            for index, sock in enumerate(sockets):
                if index in closed_after:
                    continue
                if select.select([sock], [], [], 0)[0]:
                    answer = read_answer(sock, timeout=2)
                    if answer is not None:
                        answer.problem(408)
                    closed_after[index] = time.monotonic() - opened
                elif not send_quietly(sock, head[step:step + 1]):
                    closed_after[index] = time.monotonic() - opened
            if len(closed_after) == len(sockets):
                break
            time.sleep(0.5)
    finally:
        for sock in sockets:
            sock.close()
    if helper.ident is not None:
        helper.join(timeout=30)
    assert sorted(closed_after) == list(range(12)), f"still open after 6 s: {12 - len(closed_after)} of 12"
    assert max(closed_after.values()) < 3.0, closed_after
    assert valid == [200]
    assert_alive(hostile_server, png)


def test_incomplete_headers_then_silence_is_408(hostile_server, png):
    with raw_connection(hostile_server.url) as sock:
        sock.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Ty")
        answer, seconds = closed_or_answer(sock, timeout=4)
        if answer is not None:
            answer.problem(408)
        assert 0.5 < seconds < 3.0, seconds
    assert_alive(hostile_server, png)


def test_a_stalled_body_is_408_after_the_read_timeout(hostile_server, png):
    with raw_connection(hostile_server.url) as sock:
        sock.sendall(request_head(content_length=len(png)) + png[:1000])
        answer, seconds = closed_or_answer(sock, timeout=5)
        assert answer is not None and answer.problem(408), "closed without a 408"
        assert 0.5 < seconds < 3.0, seconds
    assert_alive(hostile_server, png)


def test_a_body_trickling_past_the_deadline_is_504_counted_from_arrival(hostile_server, png):
    # The hostile server's --deadline-ms is 2000: the server's own deadline bounds the upload.
    with raw_connection(hostile_server.url) as sock:
        sock.sendall(request_head("/v1/score", content_length=len(png)))
        started, answer = time.monotonic(), None
        for byte in png[:14]:                         # a byte per 0.3 s: under the 1 s read timeout, 4.2 s at most
            if select.select([sock], [], [], 0.3)[0]:
                answer = read_answer(sock, timeout=2)
                break
            if not send_quietly(sock, bytes([byte])):
                break
        answer = answer or read_answer(sock, timeout=1)
        elapsed = time.monotonic() - started
        assert answer is not None, "closed without an answer"
        assert "while the request body was still arriving" in answer.problem(504)["detail"]
        assert 1.8 < elapsed < 3.5, elapsed
    assert_alive(hostile_server, png)


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(hostile_server, png):
    with raw_connection(hostile_server.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_answer(sock, timeout=5).status == 200
        answer, seconds = closed_or_answer(sock, timeout=6)
        assert answer is None and 1.0 < seconds < 4.5, (answer, seconds)
    assert_alive(hostile_server, png)


# MARK: caps on connections, buffered bodies and admission

def test_connections_past_the_cap_get_503_or_are_closed(hostile_server, png):
    sockets = [connect(hostile_server.url) for _ in range(32 + 5)]
    outcomes = []
    try:
        time.sleep(0.3)
        for sock in sockets:
            if not select.select([sock], [], [], 0)[0]:
                send_quietly(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_answer(sock, timeout=5)
            if answer is not None and answer.status == 503:
                answer.problem(503)
                assert answer.headers["retry-after"] == "1" and answer.headers["connection"].lower() == "close"
            outcomes.append(None if answer is None else answer.status)
    finally:
        for sock in sockets:
            sock.close()
    refused = [status for status in outcomes if status != 200]
    assert set(refused) <= {503, None}, outcomes
    assert 5 <= len(refused) <= 8, outcomes       # a few spare: the server may still count a closing connection
    assert_alive(hostile_server, png, grace=2)


def test_parked_uploads_past_the_buffered_bytes_cap_get_503(hostile_server, png):
    """10 uploads declaring 1 MiB each send half and stall: those past the 4 MiB budget are refused at once with
    503 + Retry-After (4 fit if the server reserves the declared length, 8 if it counts what arrived); the
    stalled ones are closed by the 1 s read timeout with a 408."""
    sockets = [connect(hostile_server.url, timeout=2) for _ in range(10)]
    started, outcomes = time.monotonic(), {}
    try:
        for sock in sockets:
            send_quietly(sock, request_head(content_length=1 << 20) + bytes(1 << 19))
        while len(outcomes) < len(sockets) and time.monotonic() - started < 5:
            waiting = [sock for sock in sockets if sock.fileno() not in outcomes]
            for sock in select.select(waiting, [], [], 0.1)[0]:
                answer = read_answer(sock, timeout=2)
                outcomes[sock.fileno()] = (None if answer is None else answer.status, time.monotonic() - started)
                if answer is not None and answer.status == 503:
                    assert int(answer.headers["retry-after"]) >= 1
                    assert answer.problem(503)["limit_bytes"] == 4194304
                elif answer is not None:
                    answer.problem(408)
    finally:
        for sock in sockets:
            sock.close()
    assert len(outcomes) == len(sockets), f"{len(sockets) - len(outcomes)} uploads still open after 5 s"
    refused = [seconds for status, seconds in outcomes.values() if status == 503]
    timed_out = [seconds for status, seconds in outcomes.values() if status != 503]
    assert 2 <= len(refused) <= 6, outcomes
    assert max(refused) < 0.9, f"refused only after {max(refused):.1f} s"      # before any read timeout
    assert all(0.9 < seconds < 3.0 for seconds in timed_out), outcomes
    assert_alive(hostile_server, png, grace=2)


def test_a_full_queue_answers_503_before_the_body_is_sent(hostile_slow_server, png):
    server = hostile_slow_server
    filler = {}
    body = b"".join(part(png) for _ in range(4)) + close()
    thread = threading.Thread(target=lambda: filler.update(r=post(server, body, CONTENT_TYPE)))
    thread.start()
    deadline = time.monotonic() + 30
    while "histoae_queue_depth 4" not in requests.get(server.url + "/metrics").text:
        assert time.monotonic() < deadline, "the queue never filled"
        time.sleep(0.02)
    with raw_connection(server.url) as sock:
        sock.sendall(request_head(content_length=1_000_000))       # headers only; the body is never sent
        answer = read_answer(sock, timeout=1.2)
        assert answer is not None, "closed without an answer"
        answer.problem(503)
        assert int(answer.headers["retry-after"]) >= 1
    thread.join(timeout=60)
    assert filler["r"].status_code == 200
    assert_alive(server, png)


def test_bearer_scheme_is_case_insensitive(server, png):
    for scheme in ("bearer", "BEARER", "bEaReR"):
        response = post(server, png, "image/png", Authorization=f"{scheme} {API_KEY}")
        assert response.status_code == 200, (scheme, response.text[:200])
    assert_alive(server, png, headers={"Authorization": f"Bearer {API_KEY}"})
