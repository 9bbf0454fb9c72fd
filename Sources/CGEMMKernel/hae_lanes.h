// hae_lanes.h — private to CGEMMKernel: the lane masks of its AVX-512 loops' ragged edges. Include only on x86-64.
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
