import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_FIXTURES = REPO_ROOT / "Tests" / "AutoencoderModelTests" / "Fixtures"
KERNEL_FIXTURES = REPO_ROOT / "Tests" / "TensorKernelsTests" / "Fixtures"


@pytest.fixture(scope="session")
def model_fixtures() -> Path:
    return MODEL_FIXTURES


@pytest.fixture(scope="session")
def kernel_fixtures() -> Path:
    return KERNEL_FIXTURES


TESTS_DIR = Path(__file__).resolve().parent
TEST_PATCHES = TESTS_DIR / "data" / "patches"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def test_patches() -> Path:
    return TEST_PATCHES


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "slides" / "cmu-1-small-region.svs").exists():
        pytest.skip(f"{SHARED_DATA}: shared H&E data not present")
    if importlib.util.find_spec("openslide") is None:
        pytest.skip("openslide-python not installed (pip install openslide-python openslide-bin)")
    return SHARED_DATA


def run_cli(*args: str, cwd: Path | None = None) -> "subprocess.CompletedProcess[str]":
    """``python -m histoae_training ARGS`` in a subprocess (fails the test with its output on error)."""
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "histoae_training", *args], cwd=cwd or TESTS_DIR.parent, env=env,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.fail(f"histoae_training {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> dict:
    """A tiny train -> export through the command line: 2 epochs of 8 crops on the test patches, float16 export."""
    root = tmp_path_factory.mktemp("tiny")
    run, model = root / "run", root / "model"
    cfg = TESTS_DIR / "configs" / "tiny.json"
    run_cli("train", "--config", str(cfg), "--data-root", str(TEST_PATCHES.parent), "--out", str(run),
            "--threads", "2", "--no-progress")
    run_cli("export", "--checkpoint", str(run / "best.pt"), "--out", str(model), "--name", "histoae-tiny",
            "--version", "1.0.0", "--float16")
    return {"run": run, "model": model, "config": cfg}
