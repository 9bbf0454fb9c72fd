# Sourced by the scripts: Debian's OpenBLAS 0.3.21 does not know CPUs newer than its model table
# (e.g. Emerald Rapids) and falls back to SSE3 "Prescott" kernels. Pick the kernels the CPU supports, as
# the `histoae` executable does for itself (BLAS.suggestedCoreType), unless the caller chose already.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  if [[ $flags == *avx512f* && $flags == *avx512bw* && $flags == *avx512dq* && $flags == *avx512vl* ]]; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif [[ $flags == *avx2* && $flags == *fma* ]]; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
