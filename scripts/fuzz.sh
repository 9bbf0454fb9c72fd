#!/usr/bin/env bash
# libFuzzer + ASan targets for every parser of untrusted bytes (Fuzz/README.md):
#   scripts/fuzz.sh build                          build every target into .build-fuzz/fuzz/
#   scripts/fuzz.sh smoke [SECONDS_PER_TARGET]     build, replay Fuzz/regressions + Fuzz/corpus, fuzz each briefly
#   scripts/fuzz.sh run TARGET [SECONDS] [JOBS]    long run; corpus kept in .build-fuzz/corpus/TARGET;
#                                                  FUZZ_RUNS=N stops after N executions (whichever comes first)
#   scripts/fuzz.sh coverage TARGET [CORPUS_DIR]   line coverage of the parser's sources over a corpus
#   scripts/fuzz.sh list                           the target names
# Any crash, leak, timeout (if still slow when replayed) or out-of-memory fails smoke and stops run; the
# input lands in .build-fuzz/artifacts/TARGET/. Environment: FUZZ_SYSTEM_LIBS=1 links the system
# libpng/libjpeg instead of instrumented builds; HAE_FUZZ_LIMITS=cli decodes under the CLI's limits
# (default: the server's).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build="$root/.build-fuzz"
toolchain_bin=$(dirname "$(command -v swiftc)")
cc="$toolchain_bin/clang"
# Swift's own crash reporter reads memory ASan has poisoned (false reports); libFuzzer's handler is enough.
export SWIFT_BACKTRACE=enable=no
# ASan's default 256 MB quarantine alone would take half of -rss_limit_mb at these execution rates.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64}
targets=(png jpeg safetensors npy multipart media-type accept infer-request)

# Per-target flags: every input is one request body / file / patch; libFuzzer's -max_len caps its size.
common_flags=(-rss_limit_mb=512 -timeout=10 -max_len=65536 -print_final_stats=1)
dict_flag() { [ -f "$root/Fuzz/dictionaries/$1.dict" ] && echo "-dict=$root/Fuzz/dictionaries/$1.dict" || true; }

swift_sources() {
  case $1 in
    safetensors) echo Sources/TensorKernels/Safetensors.swift Sources/TensorKernels/Tensor.swift Sources/TensorKernels/DecodingFailure.swift ;;
    npy) echo Sources/TensorKernels/NPY.swift Sources/TensorKernels/Tensor.swift ;;
    multipart | media-type | accept) ls Sources/RequestParsing/*.swift ;;
    infer-request) echo Sources/InferenceProtocol/RESTRequestDecoding.swift Sources/InferenceProtocol/TensorJSON.swift \
                        Sources/InferenceProtocol/InferenceRequest.swift Sources/InferenceProtocol/InferenceError.swift ;;
  esac
}
is_c_target() { [ "$1" = png ] || [ "$1" = jpeg ]; }

# Sets codec_include/codec_link: instrumented libpng/libjpeg-turbo, built once per build folder, or the
# system's when their sources are unavailable (or FUZZ_SYSTEM_LIBS=1).
codec_libs() {
  local deps="$build/deps"
  if [ "${FUZZ_SYSTEM_LIBS:-0}" != 1 ] && [ ! -f "$deps/ready" ]; then
    CC="$cc" bash Fuzz/build-deps.sh "$deps" >&2 || echo "fuzz.sh: WARNING: instrumented codecs unavailable" >&2
  fi
  if [ "${FUZZ_SYSTEM_LIBS:-0}" != 1 ] && [ -f "$deps/ready" ]; then
    codec_include=(-I"$deps/include"); codec_link=("$deps/lib/libpng16.a" "$deps/lib/libjpeg.a" -lz -lm)
  else
    echo "fuzz.sh: WARNING: linking the system libpng/libjpeg: no coverage guidance inside them" >&2
    codec_include=(); codec_link=(-lpng16 -ljpeg -lz -lm)
  fi
}

# build_one TARGET MODE: MODE "fuzz" (libFuzzer + ASan) or "coverage" (libFuzzer driver + profile counters).
build_one() {
  local target=$1 mode=$2 out="$build/$2/$1" tmp="$build/obj/$2-$1"
  mkdir -p "$(dirname "$out")" "$tmp"
  local sanitize=(-fsanitize=fuzzer,address) swift_extra=(-sanitize=fuzzer,address)
  if [ "$mode" = coverage ]; then  # same build plus profile counters (the codec libraries carry ASan)
    sanitize+=(-fprofile-instr-generate -fcoverage-mapping)
    swift_extra+=(-profile-generate -profile-coverage-mapping)
  fi
  # Up to date when nothing it is built from changed since (a folder stands for every file in it).
  local inputs=(scripts/fuzz.sh Fuzz/targets/FuzzSupport.swift Fuzz/targets/decode_checks.h Sources/CCodecShims)
  inputs+=("Fuzz/targets/$target".* $(swift_sources "$target"))
  [ -f "$build/deps/ready" ] && inputs+=("$build/deps/ready")
  if [ -x "$out" ] && [ -z "$(find "${inputs[@]}" -newer "$out" 2>/dev/null)" ]; then return 0; fi
  if is_c_target "$target"; then
    codec_libs
    # Every shim file: the decoders share helpers, and new files (e.g. limits) come along by themselves.
    "$cc" -g -O1 -fno-omit-frame-pointer -fuse-ld=lld "${sanitize[@]}" "${codec_include[@]}" -ISources/CCodecShims/include \
      -ISources/CCodecShims Sources/CCodecShims/*.c "Fuzz/targets/$target.c" "${codec_link[@]}" -o "$out"
  else
    # shellcheck disable=SC2046
    swiftc -O -g -parse-as-library -use-ld=lld -module-name "Fuzz_${target//-/_}" -module-cache-path "$build/module-cache" \
      "${swift_extra[@]}" $(swift_sources "$target") Fuzz/targets/FuzzSupport.swift "Fuzz/targets/$target.swift" -o "$out" 2>"$tmp/swiftc.log" \
      || { cat "$tmp/swiftc.log" >&2; return 1; }
  fi
}

build_all() {
  local mode=${1:-fuzz} failed=0
  for t in "${targets[@]}"; do
    if ! is_c_target "$t" && { [ -z "$(swift_sources "$t")" ] || [ ! -f "Fuzz/targets/$t.swift" ]; }; then
      echo "fuzz.sh: $t: no sources yet, skipped" >&2; continue
    fi
    echo "== fuzz build: $t" >&2
    build_one "$t" "$mode" || failed=1
  done
  return $failed
}

# Replays committed inputs one by one: regressions (crashes found and fixed) and the seed corpus.
replay() {
  local target=$1 files
  files=$(find "Fuzz/regressions/$target" "Fuzz/corpus/$target" -type f 2>/dev/null | sort || true)
  [ -z "$files" ] && return 0
  # shellcheck disable=SC2086
  "$build/fuzz/$target" -rss_limit_mb=512 -timeout=10 $files >"$build/logs/replay-$target.log" 2>&1 || {
    tail -40 "$build/logs/replay-$target.log"; echo "fuzz.sh: $target: a committed input fails (log above)"; return 1; }
  echo "   replayed $(echo "$files" | wc -l) committed inputs"
}

# fuzz TARGET SECONDS CORPUS_DIR [extra libFuzzer flags…]: new inputs go to CORPUS_DIR, seeds are read too.
# Fork mode with timeouts ignored: a stalled machine (150 s pauses were seen on a shared VM) must not fail a
# run; timeout inputs are still saved, and check_timeouts replays them to tell a slow input from a stall.
fuzz() {
  local target=$1 seconds=$2 corpus=$3; shift 3
  mkdir -p "$corpus" "$build/artifacts/$target"
  # shellcheck disable=SC2046
  "$build/fuzz/$target" "${common_flags[@]}" $(dict_flag "$target") -max_total_time="$seconds" \
    -artifact_prefix="$build/artifacts/$target/" -fork="${FUZZ_JOBS:-1}" -ignore_timeouts=1 "$@" "$corpus" "Fuzz/corpus/$target"
}

# check_timeouts TARGET SINCE_FILE: fails when a timeout input saved after SINCE_FILE is still slow replayed.
check_timeouts() {
  local target=$1 since=$2 input failed=0
  while read -r input; do
    if "$build/fuzz/$target" -timeout=10 "$input" >/dev/null 2>&1; then
      echo "fuzz.sh: $input: not slow when replayed (the machine stalled)"
    else
      echo "fuzz.sh: $input: a genuine timeout (over 10 s when replayed)"; failed=1
    fi
  done < <(find "$build/artifacts/$target" -name 'timeout-*' -newer "$since")
  return $failed
}

summary() {  # the last stats line and executions of a libFuzzer log (fork mode: "#N: cov: … job: J")
  grep -E '^#[0-9]+' "$1" | tail -1
  grep -E '^INFO: (fuzzed for|exiting)' "$1" | tr '\n' ' '; echo
  # Fork mode (run's jobs) prints no stat:: lines: no match is not a failure (with pipefail it was: exit 1).
  { grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$1" || true; } | tr '\n' ' '; echo
}

mkdir -p "$build/logs"
command=${1:-}
case $command in
  list) printf '%s\n' "${targets[@]}" ;;
  build) build_all fuzz ;;
  smoke)
    seconds=${2:-8}
    started=$(date +%s)
    build_all fuzz
    for t in "${targets[@]}"; do
      [ -x "$build/fuzz/$t" ] || continue
      echo "== fuzz smoke: $t (${seconds}s)"
      replay "$t"
      rm -rf "$build/smoke/$t"
      touch "$build/logs/smoke-$t.start"
      { fuzz "$t" "$seconds" "$build/smoke/$t" >"$build/logs/smoke-$t.log" 2>&1 && check_timeouts "$t" "$build/logs/smoke-$t.start"; } || {
        tail -60 "$build/logs/smoke-$t.log"; echo "fuzz.sh: $t: the fuzzer found a failure (above)"; exit 1; }
      echo "   $(summary "$build/logs/smoke-$t.log" | head -1)"
    done
    echo "== fuzz smoke passed in $(($(date +%s) - started)) s"
    ;;
  run)
    target=${2:?usage: scripts/fuzz.sh run TARGET [SECONDS] [JOBS]}
    seconds=${3:-600}; export FUZZ_JOBS=${4:-1}
    build_one "$target" fuzz
    name=$target; [ "${HAE_FUZZ_LIMITS:-}" = cli ] && name=$target-cli  # its own corpus under the CLI's limits
    log="$build/logs/run-$name-$(date +%Y%m%d-%H%M%S).log"
    extra=(); [ -n "${FUZZ_RUNS:-}" ] && extra=(-runs="$FUZZ_RUNS")
    echo "fuzz.sh: $target for ${seconds}s on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-); log $log"
    status=0
    touch "$log.start"
    fuzz "$target" "$seconds" "$build/corpus/$name" "${extra[@]}" >"$log" 2>&1 || status=$?
    summary "$log"
    check_timeouts "$target" "$log.start" || status=1
    [ $status -eq 0 ] || { tail -60 "$log"; echo "fuzz.sh: $target stopped with status $status"; }
    exit $status
    ;;
  coverage)
    target=${2:?usage: scripts/fuzz.sh coverage TARGET [CORPUS_DIR]}
    corpus=${3:-$build/corpus/$target}
    build_one "$target" coverage
    profiles="$build/profiles/$target"; rm -rf "$profiles"; mkdir -p "$profiles"
    LLVM_PROFILE_FILE="$profiles/%p.profraw" "$build/coverage/$target" -runs=0 -rss_limit_mb=2048 \
      "$corpus" "Fuzz/corpus/$target" >"$build/logs/coverage-$target.log" 2>&1
    "$toolchain_bin/llvm-profdata" merge -sparse "$profiles"/*.profraw -o "$profiles/merged.profdata"
    if is_c_target "$target"; then sources=(Sources/CCodecShims/hae_"$target"_decode.c)
    else mapfile -t sources < <(swift_sources "$target" | tr ' ' '\n' | grep .); fi  # one per line or space
    "$toolchain_bin/llvm-cov" report "$build/coverage/$target" -instr-profile="$profiles/merged.profdata" "${sources[@]}"
    ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
