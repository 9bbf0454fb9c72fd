// hae_f32_columns.h — private to CGEMMKernel: writing float columns into the packed float B panels of
// hae_gemm_multiply_prepacked ((tiles of 32 columns, depth, 32) float) for a producer that writes them directly
// (the transposed convolutions' Winograd input transform, im2col): the float32 twin of hae_bf16_columns.h. The fuse
// layers' F(4×4, 3×3) input transform does not: its V outgrows L2, and the GEMMs reading its panels from L3 ran
// slower (fuse1…fuse3 +3 %) than packing each block into L1 themselves. Include only on x86-64.
#pragma once
#include <immintrin.h>

#include "hae_lanes.h"

#define HAE_F32_COLUMNS_TARGET __attribute__((target("avx512f")))

/// Stores `v` lanes 0 … count − 1 (count ≤ 16) as columns t … t + count − 1 of depth d: column t of depth d lies at
/// (⌊t/32⌋·depth + d)·32 + t mod 32; a run crossing a 32-column tile splits in two.
HAE_F32_COLUMNS_TARGET static inline void hae_f32_store_columns(float *base, long depth, long d, long t, long count,
                                                                __m512 v) {
    const long offset = t & 31, first = 32 - offset < count ? 32 - offset : count;
    _mm512_mask_storeu_ps(base + ((t >> 5) * depth + d) * 32 + offset, hae_first_lanes(first), v);
    if (first < count) {                                                // lanes first … count − 1: the next tile
        float *next = base + (((t >> 5) + 1) * depth + d) * 32;
        _mm512_mask_storeu_ps(next - first, (__mmask16)(hae_first_lanes(count) & ~hae_first_lanes(first)), v);
    }
}

/// Zeroes depth d's columns count … of the last tile (the kernel reads whole 32-column tiles; its unused lanes then
/// read finite values).
HAE_F32_COLUMNS_TARGET static inline void hae_f32_zero_tail(float *base, long depth, long d, long count) {
    const long offset = count & 31;
    if (!offset) return;
    float *last = base + ((count >> 5) * depth + d) * 32;
    _mm512_mask_storeu_ps(last, (__mmask16)~hae_first_lanes(offset), _mm512_setzero_ps());
    _mm512_mask_storeu_ps(last + 16, (__mmask16)~hae_first_lanes(offset - 16), _mm512_setzero_ps());
}
