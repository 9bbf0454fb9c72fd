#!/usr/bin/env bash
# Set-up, release build, then `histoae` with the given arguments, e.g.
#   scripts/run.sh reconstruct --model M.safetensors --format png --output out/ patches/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product histoae >&2
exec .build/release/histoae "$@"
