#!/usr/bin/env bash
# API conformance: validates openapi.yaml, then runs schemathesis against a live `histoae serve`.
#   scripts/schemathesis.sh [BINARY]   (default .build/debug/histoae)
# The check positive_data_acceptance is left out: openapi.yaml cannot express "a decodable 150×150 PNG",
# so a schema-valid body (any bytes) is rightly refused with 422; live_tests/ covers the accepted cases.
# The check use_after_free is left out too: DELETE of a queued or running scan job cancels it and keeps its
# record (200 with the cancelled job, as openapi.yaml says); only DELETE of a finished job removes it (204).
# The job and its slide (slide.dzi) are rightly still there after the first kind.
# Scan jobs are on, with a temporary slide root holding the shared CMU slide (openapi.yaml's example) when
# ../shared/data is there, and at most 2 jobs at once (the rest are 429).
# One worker: a CI run with two failed on a tool error, not a finding about the API: a Hypothesis
# FlakyFailure raised inside Hypothesis's lambda description (which reads Python's process-wide linecache)
# while generating POST /v1/scans bodies. Twelve runs with two workers here did not repeat it; one worker
# keeps case generation on a single thread, for about 25 s more.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/debug/histoae}
python3 -m openapi_spec_validator openapi.yaml
log=$(mktemp)
scans=$(mktemp -d)
mkdir "$scans/slides"
slide=../shared/data/slides/cmu-1-small-region.svs
if [ -f "$slide" ]; then cp "$slide" "$scans/slides/"; fi
"$binary" serve --port 0 --max-patches 8 --slide-root "$scans/slides" --state-dir "$scans/state" --max-scan-jobs 2 \
  >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$log" "$scans"' EXIT
for _ in $(seq 1 600); do
  url=$(sed -n 's/^histoae: listening on //p' "$log")
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "schemathesis.sh: histoae serve did not start" >&2; exit 1; }
schemathesis run openapi.yaml --url "$url" --max-examples "${SCHEMATHESIS_EXAMPLES:-50}" --workers 1 \
  --exclude-checks positive_data_acceptance,use_after_free --seed 1
kill -TERM $pid
wait $pid
