#!/usr/bin/env bash
# Regenerates README's whole-slide example: scans the CMU sample slide (../shared/data/slides, next to the
# repository) with the release build and the default model, and copies its heatmap to docs/scan/cmu-1-heatmap.png
# and its summary to docs/scan/cmu-1-summary.json (so the picture's numbers can be checked).
#
#   scripts/scan-example.sh            # builds the release binary if needed; prints the scan's summary line
#
# Exit 0 on success; the scan's own exit status otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

slide=../shared/data/slides/cmu-1-small-region.svs
[ -f "$slide" ] || { echo "scan-example: $slide not found (the shared data lives next to the repository)" >&2; exit 1; }
swift build -c release --product histoae >&2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
.build/release/histoae scan "$slide" --out "$out" >/dev/null
mkdir -p docs/scan
cp "$out/cmu-1-small-region/heatmap.png" docs/scan/cmu-1-heatmap.png
cp "$out/cmu-1-small-region/summary.json" docs/scan/cmu-1-summary.json
echo "scan-example: wrote docs/scan/cmu-1-heatmap.png and docs/scan/cmu-1-summary.json"
