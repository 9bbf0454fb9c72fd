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
