"""The README's curl examples work as printed: each command of the marked block, run by bash against a live
server on the default model (only the address is changed to the test server's)."""
import os
import pathlib
import re
import subprocess

import pytest

from conftest import ROOT, Server


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- curl-examples")[1].split("```sh\n", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


@pytest.fixture(scope="module")
def open_server():
    server = Server()
    yield server
    assert server.terminate() == 0


def test_readme_has_the_four_kinds_of_example():
    commands = readme_commands()
    assert any("image/png" in c and "/v1/score" in c for c in commands)
    assert any("image/jpeg" in c for c in commands)
    assert any(c.count("-F patch=@") >= 2 for c in commands)
    assert any("Accept: image/png" in c for c in commands)


@pytest.mark.parametrize("index", range(len(readme_commands())))
def test_readme_curl_example(open_server, tmp_path, index):
    command = readme_commands()[index]
    os.symlink(ROOT / "examples", tmp_path / "examples")
    command = command.replace("http://127.0.0.1:8080", open_server.url)
    command = command.replace("curl -s", "curl -s -w '\\nHTTP_CODE=%{http_code}\\n'", 1)
    result = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    codes = re.findall(r"HTTP_CODE=(\d+)", result.stdout)
    assert codes and all(code == "200" for code in codes), (command, result.stdout[-500:])
    if "-o panel.png" in command:
        assert (tmp_path / "panel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_readme_tritonclient_example(open_server, tmp_path):
    """The README's tritonclient example runs as printed (only the address changed) and prints two scores,
    two verdicts and the maps' shape."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- tritonclient-example")[1].split("```python\n", 1)[1].split("```", 1)[0]
    host = open_server.url.removeprefix("http://")
    script = tmp_path / "example.py"
    script.write_text(block.replace("127.0.0.1:8080", host))
    os.symlink(ROOT / "examples", tmp_path / "examples")
    done = subprocess.run(["python3", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "(2, 150, 150)" in done.stdout and re.search(r"b'(normal|anomalous|not_tissue)'", done.stdout), done.stdout

