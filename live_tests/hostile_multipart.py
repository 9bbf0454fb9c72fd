"""Malformed `multipart/form-data` bodies, built deterministically, with the status the contract asks for.

    from hostile_multipart import multipart_corpus, part
    for case in multipart_corpus(png):        # hostile_corpus.Case: name, body, content_type, expected
        ...

Contract (README.md "Limits"): malformed multipart (any byte sequence) → 400 problem+json, never a crash; a body cut
off inside a part → 400; part header names with bytes ≥ 0x80 → 400; a part header section over 8 KiB or more
than 32 headers in one part → 400; more parts than --max-patches → 413.
"""
from __future__ import annotations

import random

from hostile_corpus import Case

BOUNDARY = "hostile-boundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(data: bytes, *, headers: bytes | None = None, boundary: str = BOUNDARY) -> bytes:
    """One `patch` part (delimiter, headers, blank line, data, CRLF); `headers` replaces the usual two."""
    if headers is None:
        headers = b'Content-Disposition: form-data; name="patch"; filename="p.png"\r\nContent-Type: image/png\r\n'
    return b"--" + boundary.encode() + b"\r\n" + headers + b"\r\n" + data + b"\r\n"


def close(boundary: str = BOUNDARY) -> bytes:
    return b"--" + boundary.encode() + b"--\r\n"


def valid_body(png: bytes, count: int = 2) -> bytes:
    return b"".join(part(png) for _ in range(count)) + close()


def multipart_corpus(png: bytes) -> list:
    """Hand-written malformations of a two-patch upload, then truncations and byte flips of a valid one."""
    disposition = b'Content-Disposition: form-data; name="patch"\r\n'
    good = part(png)
    cases = [
        Case("part header name with byte 0xFF", part(png, headers=disposition + b"\xffX: y\r\n") + close(),
             CONTENT_TYPE, 400),
        Case("part header name of bytes 0x80-0xFF", part(png, headers=bytes(range(0x80, 0x100)) + b": y\r\n" + disposition)
             + close(), CONTENT_TYPE, 400),
        Case("part header value with bytes 0xFF and NUL", part(png, headers=disposition + b"X-A: \xff\x00\xfe\r\n") + close(),
             CONTENT_TYPE, (200, 400)),
        Case("no closing boundary", good + good, CONTENT_TYPE, 400),
        Case("cut inside a part's headers", good + b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-da",
             CONTENT_TYPE, 400),
        Case("cut inside a part without headers", good + b"--" + BOUNDARY.encode() + b"\r\n\r\n" + png[:5000],
             CONTENT_TYPE, 400),
        Case("cut inside a part's data", good + good[:len(good) // 2], CONTENT_TYPE, 400),
        Case("part header section of 9 KiB", part(png, headers=disposition + b"X-Long: " + b"a" * 9216 + b"\r\n") + close(),
             CONTENT_TYPE, 400),
        Case("part header of 64 KiB without a line end", good + b"--" + BOUNDARY.encode() + b"\r\nX: " + b"b" * 65536,
             CONTENT_TYPE, 400),
        Case("33 headers in one part", part(png, headers=disposition + b"".join(b"X-%d: v\r\n" % i for i in range(32)))
             + close(), CONTENT_TYPE, 400),
        Case("10 000 tiny parts", b"".join(part(b"x", headers=disposition) for _ in range(10_000)) + close(),
             CONTENT_TYPE, (400, 413)),
        Case("1 MiB of CR", b"\r" * (1 << 20), CONTENT_TYPE, 400),
        Case("1 MiB of CRLF", b"\r\n" * (1 << 19), CONTENT_TYPE, 400),
        Case("1 MiB of dashes", b"-" * (1 << 20), CONTENT_TYPE, 400),
        Case("delimiters only", (b"--" + BOUNDARY.encode() + b"\r\n") * 1000, CONTENT_TYPE, 400),
        Case("no boundary parameter", valid_body(png), "multipart/form-data", 400),
        Case("empty boundary", valid_body(png), 'multipart/form-data; boundary=""', 400),
        Case("boundary of 201 characters", part(png, boundary="b" * 201) + close("b" * 201),
             "multipart/form-data; boundary=" + "b" * 201, 400),
        Case("boundary of 8 KiB", valid_body(png), "multipart/form-data; boundary=" + "c" * 8192, 400),
        Case("boundary not in the body", valid_body(png), "multipart/form-data; boundary=elsewhere", 400),
        Case("nested quotes in the boundary", valid_body(png), 'multipart/form-data; boundary="a\\"b\\"c"', 400),
        Case("nested quotes in the field name",
             part(png, headers=b'Content-Disposition: form-data; name="pa\\"tch\\""; filename="a\\"b.png"\r\n') + close(),
             CONTENT_TYPE, 400),
        Case("unterminated quote in Content-Disposition",
             part(png, headers=b'Content-Disposition: form-data; name="patch\r\n') + close(), CONTENT_TYPE, (200, 400)),
        Case("header line without a colon", part(png, headers=disposition + b"no colon here\r\n") + close(),
             CONTENT_TYPE, 400),
        Case("obsolete folded header line", part(png, headers=disposition + b"X-A: b\r\n  folded\r\n") + close(),
             CONTENT_TYPE, (200, 400)),
        Case("bare LF line ends", part(png).replace(b"\r\n", b"\n") + close(), CONTENT_TYPE, 400),
        Case("empty part", part(b"") + close(), CONTENT_TYPE, 400),
        Case("only the closing delimiter", close(), CONTENT_TYPE, 400),
        Case("empty body", b"", CONTENT_TYPE, 400),
    ]
    cases += truncations(png)
    cases += byte_flips(png)
    return cases


def truncations(png: bytes, count: int = 12) -> list:
    """A valid two-part body cut at `count` offsets spread over it (fixed seed): every cut is inside a part, or
    inside the closing delimiter's dashes, so 400."""
    body = valid_body(png)
    last_safe = len(body) - len(close()) + len(b"--" + BOUNDARY.encode())   # a cut before the closing "--"
    rng = random.Random(13)
    offsets = sorted({1, 40, 90, len(part(png)) - 1, len(part(png)) + 30, last_safe - 1,
                      *(rng.randrange(1, last_safe) for _ in range(count - 6))})
    return [Case(f"valid two-part body cut at {n} of {len(body)}", body[:n], CONTENT_TYPE, 400) for n in offsets]


def byte_flips(png: bytes, count: int = 12) -> list:
    """A valid body with one header byte replaced (fixed seed): any outcome but a crash or a non-problem error."""
    body = valid_body(png)
    header_end = body.index(b"\r\n\r\n") + 4
    rng = random.Random(4)
    cases = []
    for _ in range(count):
        at = rng.randrange(0, header_end)
        value = rng.choice([0x00, 0x0A, 0x0D, 0x22, 0x3A, 0x3B, 0x7F, 0x80, 0xC3, 0xFF])
        cases.append(Case(f"header byte {at} set to 0x{value:02X}", body[:at] + bytes([value]) + body[at + 1:],
                          CONTENT_TYPE, (200, 400, 415)))
    return cases
