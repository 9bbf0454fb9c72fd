#!/usr/bin/env bash
# Installs what HistoAE needs on a fresh Debian machine (idempotent; skips what is already there):
# the C libraries the Swift package links; with --python the training package and its test tools (with the
# headless browser the viewer's tests drive: chromium + chromium-driver); with --bench also the peers the
# benchmarks compare against (bench/requirements.txt: ONNX export, ONNX Runtime).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(libopenblas-dev libpng-dev libjpeg-dev libopenslide-dev libsqlite3-dev pkg-config)
if [ "${1:-}" = "--python" ] || [ "${1:-}" = "--bench" ]; then
  apt_packages+=(chromium chromium-driver)   # live_tests/test_viewer.py (Selenium from live_tests/requirements.txt)
fi
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--python" ] || [ "${1:-}" = "--bench" ]; then
  if ! python3 -c "import torch" 2>/dev/null; then
    # A CPU-only wheel when the machine carries one (far smaller than the CUDA build PyPI serves).
    wheel=$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -n 1 || true)
    echo "setup: installing PyTorch ${wheel:+from $wheel}"
    python3 -m pip install -q ${wheel:-torch}
  fi
  python3 -m pip install -q -e "training[test]" scikit-image -r live_tests/requirements.txt 2>&1 \
    | grep -v "WARNING: Running pip as the 'root' user" || true
fi

if [ "${1:-}" = "--bench" ]; then
  python3 -m pip install -q -r bench/requirements.txt 2>&1 | grep -v "WARNING: Running pip as the 'root' user" || true
fi
