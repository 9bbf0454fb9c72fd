// hae_bf16_columns.h — private to CGEMMKernel: writing float columns into the packed bf16 B panels of
// hae_gemm_bf16_multiply_prepacked ((tiles of 32 columns, pairs, 32, 2) uint16), shared by the producers that
// write them directly (the Winograd input transforms of the fuse and the transposed convolutions). Include only on x86-64.
#pragma once
#include <immintrin.h>
#include <stdint.h>

#include "hae_lanes.h"

#define HAE_COLUMNS_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

/// 16 words for one pair and 16 columns: word i = (bf16 even[i], bf16 odd[i]), the order VDPBF16PS pairs depths in
/// (rounded to nearest even by VCVTNE2PS2BF16, as hae_gemm_bf16_multiply rounds B).
HAE_COLUMNS_TARGET static inline __m512i hae_bf16_pair_words(__m512 even, __m512 odd) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(odd, even));
}

/// Stores `words` lanes 0 … count − 1 (count ≤ 16) as columns t … t + count − 1 of pair p: column t of pair p lies at
/// word (⌊t/32⌋·panel_pairs + p)·32 + t mod 32; a run crossing a 32-column tile splits in two.
HAE_COLUMNS_TARGET static inline void hae_bf16_store_columns(int32_t *words_base, long panel_pairs, long p, long t,
                                                             long count, __m512i words) {
    const long offset = t & 31, first = 32 - offset < count ? 32 - offset : count;
    int32_t *at = words_base + ((t >> 5) * panel_pairs + p) * 32 + offset;
    _mm512_mask_storeu_epi32(at, hae_first_lanes(first), words);
    if (first < count) {                                                // lanes first … count − 1: the next tile
        int32_t *next = words_base + (((t >> 5) + 1) * panel_pairs + p) * 32;
        _mm512_mask_storeu_epi32(next - first, (__mmask16)(hae_first_lanes(count) & ~hae_first_lanes(first)), words);
    }
}

/// Zeroes pair p's columns count … of the last tile (the kernel reads whole 32-column tiles).
HAE_COLUMNS_TARGET static inline void hae_bf16_zero_tail(int32_t *words_base, long panel_pairs, long p, long count) {
    const long offset = count & 31;
    if (!offset) return;
    int32_t *last = words_base + ((count >> 5) * panel_pairs + p) * 32;
    _mm512_mask_storeu_epi32(last, (__mmask16)~hae_first_lanes(offset), _mm512_setzero_si512());
    _mm512_mask_storeu_epi32(last + 16, (__mmask16)~hae_first_lanes(offset - 16), _mm512_setzero_si512());
}
