# Sourced by scripts/test.sh after the build: Debian's OpenBLAS 0.3.21 does not know CPUs newer than its model
# table (e.g. Emerald Rapids) and falls back to SSE3 "Prescott" kernels. The `histoae` executable re-executes
# itself with OPENBLAS_CORETYPE set (BLAS.suggestedCoreType, the one place the rule lives); processes that
# cannot, like the test runner, get the same value from `histoae machine --openblas-core`. A value the caller
# set wins; with no histoae built yet nothing is set (OpenBLAS's own choice: slower on such CPUs, never wrong).
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  for histoae_binary in .build/debug/histoae .build/release/histoae; do
    if [ -x "$histoae_binary" ]; then
      histoae_core=$("$histoae_binary" machine --openblas-core 2>/dev/null || true)
      if [ -n "$histoae_core" ]; then export OPENBLAS_CORETYPE=$histoae_core; fi
      unset histoae_core
      break
    fi
  done
  unset histoae_binary
fi
