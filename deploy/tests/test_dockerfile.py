"""The Dockerfile's promises that hadolint and checkov do not check: pinned bases, the runtime contract
(non-root, port, stop signal, entrypoint, env-driven settings, baked-in model, OCI labels), and a HEALTHCHECK
that really answers — run here, with bash, against the real server."""
import json
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEXT = (ROOT / "Dockerfile").read_text()
JOINED = TEXT.replace("\\\n", " ")


def test_multi_stage_with_pinned_bases():
    froms = re.findall(r"^FROM (\S+) AS (\S+)$", TEXT, re.MULTILINE)
    assert [name for _, name in froms] == ["build", "runtime"]
    for image, _ in froms:
        assert re.fullmatch(r"[a-z0-9./-]+:\d+(\.\d+)+(-[a-z]+)*", image), f"{image} is not pinned to a version"
    # Both Debian 12: the binary meets exactly the library versions it was linked against.
    assert "bookworm" in froms[0][0] and froms[1][0].startswith("debian:12.")


def test_runtime_contract():
    runtime = TEXT.split("AS runtime", 1)[1]
    assert re.search(r"^USER 10001:10001$", runtime, re.MULTILINE)
    assert re.search(r"^EXPOSE 8080$", runtime, re.MULTILINE)
    assert re.search(r"^STOPSIGNAL SIGTERM$", runtime, re.MULTILINE)
    assert 'ENTRYPOINT ["/app/bin/histoae", "serve"]' in runtime
    assert "HISTOAE_HOST=0.0.0.0" in runtime and "HISTOAE_MODEL=/app/models/default" in runtime
    assert "COPY models/default/model.json models/default/model.safetensors /app/models/default/" in runtime
    for label in ("version", "source", "licenses", "revision", "title"):
        assert f"org.opencontainers.image.{label}=" in runtime


def test_dockerignore_keeps_build_trees_and_data_out():
    lines = [l for l in (ROOT / ".dockerignore").read_text().splitlines() if l and not l.startswith("#")]
    assert lines[0] == "*", "an allow-list"
    allowed = [l[1:] for l in lines if l.startswith("!")]
    assert not any(a.startswith((".build", "training", "runs", "bench", ".git")) for a in allowed)
    assert "**/.build*" in lines


def healthcheck_command():
    m = re.search(r"HEALTHCHECK [^\n]*?CMD (\[.*\])", JOINED)
    argv = json.loads(m.group(1))
    assert argv[:2] == ["/bin/bash", "-c"]
    return argv[2]


def test_healthcheck_answers_against_the_real_server():
    candidates = [os.environ.get("HISTOAE_CHECKED_BIN", ""), ROOT / ".build-static/release/histoae",
                  ROOT / ".build/release/histoae", ROOT / ".build/debug/histoae"]
    binary = next((str(c) for c in candidates if c and os.access(c, os.X_OK)), None)
    if binary is None:
        pytest.skip("no histoae build")
    server = subprocess.Popen([binary, "serve", "--port", "0", "--workers", "1", "--codec-threads", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = next(l for l in server.stdout if l.startswith("histoae: listening on ")).rsplit(":", 1)[1].strip()
        command = healthcheck_command()
        ok = subprocess.run(["bash", "-c", command], env={"HISTOAE_PORT": port}, timeout=10)
        assert ok.returncode == 0
    finally:
        server.terminate()
        server.wait(timeout=60)
    # Nothing listening: unhealthy.
    closed = subprocess.run(["bash", "-c", command], env={"HISTOAE_PORT": port}, timeout=10,
                            stderr=subprocess.DEVNULL)
    assert closed.returncode != 0
