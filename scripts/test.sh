#!/usr/bin/env bash
# The one test command (README; .ci/run calls it): set-up, build, Swift tests, Python tests, live-server tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --python
echo "== standalone: no machine paths, no external spec citations (scripts/check-standalone.sh)"; bash scripts/check-standalone.sh
echo "== dependencies point one way and are declared (scripts/check-dependencies.py)"; python3 scripts/check-dependencies.py
echo "== swift build (tests included)"
swift build --build-tests
source scripts/openblas-env.sh   # after the build: it asks the built histoae
echo "== swift test (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto})"
swift test --skip-build --parallel
echo "== fuzz smoke: libFuzzer + ASan on every parser of untrusted bytes (Fuzz/README.md)"; bash scripts/fuzz.sh smoke
echo "== pytest training/"
(cd training && python3 -m pytest -q)
echo "== live server: pytest live_tests/ (every endpoint and error status, SIGTERM under load)"
python3 -m pytest -q live_tests
echo "== API conformance: openapi-spec-validator + schemathesis"
bash scripts/schemathesis.sh
echo "== deployment: hadolint, kustomize + Kubernetes schemas, checkov, runtime libraries (scripts/check-deploy.sh)"; bash scripts/check-deploy.sh
