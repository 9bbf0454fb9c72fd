// hae_lanes.h — private to CGEMMKernel: the lane masks of its AVX-512 loops' ragged edges, and the GEMM micro-kernels'
// prefetch of the next A panel. Include only on x86-64.
#pragma once
#include <immintrin.h>

/// Lanes 0 … count − 1 (count clamped to 0 … 16).
static inline __mmask16 hae_first_lanes(long count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

/// Lanes of positions pos … pos + 15 that lie inside a row of `width` floats (a masked load reads only those).
static inline __mmask16 hae_lanes_inside(long pos, long width) {
    return (__mmask16)(hae_first_lanes(width - pos) & ~hae_first_lanes(-pos));
}

/// In a GEMM micro-kernel's loop, every other step (one 32-byte row of an 8-row A panel: 8 floats, or 8 bf16 pairs),
/// one 64-byte line of the next A panel toward L2: `next` (NULL for none) moves through the 32·steps bytes of the
/// next panel's block while this one computes. At batch 1 the weights of the large layers come from DRAM, not cache
/// (fuse1's 36 matrices are 18.9 MB), and the hardware prefetcher restarts at each panel's 4 KB pages: fuse1's
/// float32 GEMMs took 3.3 ms with the caches flushed between calls against 2.0 with the weights in L3, and 2.15 with
/// this (one Xeon core). To L2 only: L1 holds this panel and B's (40 KB of 48).
#define HAE_PREFETCH_NEXT_PANEL(step, next) \
    if (next && ((step) & 1) == 0) { _mm_prefetch(next, _MM_HINT_T1); next += 64; }
