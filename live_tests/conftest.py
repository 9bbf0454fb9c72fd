"""Starts real `histoae serve` processes on free loopback ports for the live-server tests.

The binary is `$HISTOAE_BIN`, else the debug build `.build/debug/histoae` that `scripts/test.sh` builds.
"""
import os
import pathlib
import shutil
import signal
import subprocess
import threading
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests"
API_KEY = "live-test-key-0123456789"


def histoae_binary() -> pathlib.Path:
    explicit = os.environ.get("HISTOAE_BIN")
    path = pathlib.Path(explicit) if explicit else ROOT / ".build" / "debug" / "histoae"
    if not path.exists():
        pytest.exit(f"{path} not found: run `swift build` first (or set HISTOAE_BIN)", returncode=2)
    return path


class Server:
    """One `histoae serve` process; `url` is its base address, `output` what it printed."""

    def __init__(self, *args: str, env: dict | None = None):
        environment = {**os.environ, **(env or {})}
        self.process = subprocess.Popen(
            [str(histoae_binary()), "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        deadline = time.monotonic() + 120
        self.url = None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if line.startswith("histoae: listening on "):
                self.url = line.split()[-1].strip()
                break
        if self.url is None:
            self.process.kill()
            raise RuntimeError("histoae serve did not start:\n" + "".join(self.stderr_lines[-20:]))

    def _drain_stderr(self):
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def wait_for_log(self, text: str, timeout: float = 60) -> str:
        """The first log line (stderr) containing `text`, waiting for it up to `timeout` seconds, e.g.
        `server.wait_for_log("grpc listening")`; fails if the server exits or says nothing of the kind."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.stderr_lines):
                if text in line:
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"no log line containing {text!r}:\n" + "".join(self.stderr_lines[-20:]))

    def terminate(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def patch_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(scope="session")
def png() -> bytes:
    return patch_bytes("ScoringTests/Fixtures/patch0.png")


@pytest.fixture(scope="session")
def png2() -> bytes:
    return patch_bytes("ScoringTests/Fixtures/patch1.png")


@pytest.fixture(scope="session")
def jpeg() -> bytes:
    """patch1.png as a baseline JPEG (quality 90), encoded by Pillow's libjpeg."""
    import io
    from PIL import Image
    out = io.BytesIO()
    Image.open(FIXTURES / "ScoringTests/Fixtures/patch1.png").convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="session")
def server():
    """API keys on, small limits so the 413s are cheap to provoke."""
    s = Server("--max-body-bytes", "1048576", "--max-patches", "4", "--queue-capacity", "16",
               env={"HISTOAE_API_KEYS": API_KEY, "HISTOAE_LOG_FORMAT": "json"})
    yield s
    assert s.terminate() == 0


@pytest.fixture(scope="session")
def slow_server():
    """One worker that waits 1.5 s before each pass (its patch still queued), and a 4-patch queue: overload and
    deadlines."""
    s = Server("--workers", "1", "--pass-delay-ms", "1500", "--queue-capacity", "4", "--max-patches", "4")
    yield s
    assert s.terminate() == 0


@pytest.fixture()
def auth() -> dict:
    return {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
def session() -> requests.Session:
    return requests.Session()


# MARK: the browser (test_viewer.py)

@pytest.fixture()
def browser():
    """A fresh headless Chromium (Debian `chromium` + `chromium-driver`, installed by scripts/setup.sh) driven by
    Selenium: a small window for a 2-core machine, no network but the servers', and the browser console kept
    (`browser.get_log("browser")`). $HISTOAE_CHROMIUM and $HISTOAE_CHROMEDRIVER name other binaries."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    chromium = os.environ.get("HISTOAE_CHROMIUM") or shutil.which("chromium")
    chromedriver = os.environ.get("HISTOAE_CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.fail("the viewer tests need chromium and chromedriver: run `bash scripts/setup.sh` "
                    "(Debian packages chromium, chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--force-device-scale-factor=1", "--no-first-run",
                 "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps", "--renderer-process-limit=2"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium then never tries to download one.
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    yield driver
    driver.quit()


# MARK: hostile-client servers (test_hostile.py)

# Small limits and timeouts so every cap of README.md "Limits" is cheap and quick to cross.
HOSTILE_LIMITS = {
    "--header-timeout-s": "1", "--read-timeout-s": "1", "--idle-timeout-s": "2", "--linger-timeout-s": "1",
    "--max-connections": "32", "--max-buffered-bytes": "4194304", "--max-body-bytes": "1048576",
    "--max-response-bytes": "2097152", "--deadline-ms": "2000",
}
SLOW_LIMITS = {"--workers": "1", "--pass-delay-ms": "1500", "--queue-capacity": "4", "--max-patches": "4",
               "--header-timeout-s": "2", "--read-timeout-s": "2", "--linger-timeout-s": "1"}


def limit_options(limits: dict) -> tuple:
    """(flags, environment): each limit as a flag where `histoae serve --help` lists it, else as its HISTOAE_*
    variable, which a server that predates the limit ignores instead of refusing to start."""
    help_text = subprocess.run([str(histoae_binary()), "serve", "--help"], capture_output=True, text=True).stdout
    flags, environment = [], {}
    for flag, value in limits.items():
        if flag + " " in help_text:
            flags += [flag, value]
        else:
            environment["HISTOAE_" + flag[2:].upper().replace("-", "_")] = value
    return flags, environment


@pytest.fixture(scope="session")
def _hostile_servers():
    """One server per limit set, for the session; a hostile case that kills one fails, and the next case gets
    a fresh server, so each crash is charged to the case that caused it."""
    servers = {}
    yield servers
    for server in servers.values():
        if _healthy(server):
            assert server.terminate() == 0


def _healthy(server: Server) -> bool:
    """Running and answering: a process that trapped can take seconds to exit (the runtime prints a backtrace)."""
    try:
        return server.process.poll() is None and requests.get(server.url + "/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _running(servers: dict, name: str, limits: dict) -> Server:
    server = servers.get(name)
    if server is None or not _healthy(server):
        if server is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)
        flags, environment = limit_options(limits)
        server = servers[name] = Server(*flags, env=environment)
    return server


@pytest.fixture()
def hostile_server(_hostile_servers) -> Server:
    """No API keys; 1 s header/read/linger timeouts, 2 s idle, 32 connections, 4 MiB buffered, 1 MiB bodies,
    2 MiB responses."""
    return _running(_hostile_servers, "fast", HOSTILE_LIMITS)


@pytest.fixture()
def hostile_slow_server(_hostile_servers) -> Server:
    """One worker that waits 1.5 s before each pass and a 4-patch queue: admission while the queue is full."""
    return _running(_hostile_servers, "slow", SLOW_LIMITS)
