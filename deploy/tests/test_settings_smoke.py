"""deploy/tools/settings_smoke.py (scripts/check-deploy.sh step 6): a HISTOAE_* setting the CLI does not know is
reported (the server would ignore it silently), and the KServe smoke fails for a probe path the server does not
serve and for settings the server refuses (its passing run is step 6 itself)."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "tools"))
from settings_smoke import smoke_kserve, unknown_settings  # noqa: E402

BUILDS = [ROOT / ".build-static" / "release" / "histoae", ROOT / ".build" / "release" / "histoae",
          ROOT / ".build" / "debug" / "histoae"]


@pytest.fixture(scope="module")
def binary():
    candidates = [os.environ.get("HISTOAE_CHECKED_BIN", "")] + [str(b) for b in BUILDS]
    found = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    if not found:
        pytest.skip("no histoae build (scripts/test.sh or scripts/check-deploy.sh --release builds one)")
    return found


def test_misspelt_setting_is_reported(binary):
    settings = {"HISTOAE_WORKERS": "2", "HISTOAE_WORKER": "2", "HISTOAE_QUEUE_CAPACITY": "256", "PROTOCOL": "v2"}
    assert unknown_settings(binary, settings) == ["HISTOAE_WORKER"]


@pytest.fixture
def kserve_example():
    if not shutil.which("kubectl"):
        pytest.skip("kubectl not installed")
    out = subprocess.run(["kubectl", "kustomize", str(ROOT / "deploy" / "examples" / "kserve")],
                         capture_output=True, text=True, check=True).stdout
    return [o for o in yaml.safe_load_all(out) if o]


def _container(objects):
    return next(o for o in objects if o["kind"] == "InferenceService")["spec"]["predictor"]["containers"][0]


def test_kserve_smoke_reports_a_probe_path_the_server_does_not_serve(binary, kserve_example):
    _container(kserve_example)["readinessProbe"]["httpGet"]["path"] = "/v2/health/readiness"
    problems = smoke_kserve(binary, kserve_example)
    assert any(p.startswith("GET /v2/health/readiness: ") and p.endswith("expected 200") for p in problems), problems


def test_kserve_smoke_reports_settings_the_server_refuses(binary, kserve_example):
    env = _container(kserve_example)["env"]
    next(e for e in env if e["name"] == "HISTOAE_MAX_PATCHES")["value"] = "1024"   # above HISTOAE_QUEUE_CAPACITY
    env.append({"name": "HISTOAE_QUEUE_CAPACTY", "value": "2048"})                 # misspelt: ignored by the server
    problems = smoke_kserve(binary, kserve_example)
    assert "unknown setting HISTOAE_QUEUE_CAPACTY: the server ignores it" in problems
    assert any(p.startswith("the server did not start") for p in problems), problems
