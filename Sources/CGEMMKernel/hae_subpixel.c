// hae_subpixel.c — see hae_subpixel.h.
#include "hae_subpixel.h"

static void interleave_plain(const float *even, const float *odd, float *out, long count, float bias) {
    for (long j = 0; j < count; j++) {
        out[2 * j] = even[j] + bias;
        out[2 * j + 1] = odd[j] + bias;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#include "hae_bf16_columns.h"

__attribute__((target("avx512f")))
static void interleave_avx512(const float *even, const float *odd, float *out, long count, float bias) {
    const __m512 b = _mm512_set1_ps(bias);
    // Lane 2i of `low` is even[i], 2i + 1 is odd[i] (i < 8); `high` the same for i = 8…15.
    const __m512i low = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i high = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    for (long j = 0; j < count; j += 16) {
        const long left = count - j;
        const __m512 e = _mm512_add_ps(_mm512_maskz_loadu_ps(hae_first_lanes(left), even + j), b);
        const __m512 o = _mm512_add_ps(_mm512_maskz_loadu_ps(hae_first_lanes(left), odd + j), b);
        _mm512_mask_storeu_ps(out + 2 * j, hae_first_lanes(2 * left), _mm512_permutex2var_ps(e, low, o));
        _mm512_mask_storeu_ps(out + 2 * j + 16, hae_first_lanes(2 * left - 16), _mm512_permutex2var_ps(e, high, o));
    }
}

void hae_subpixel_interleave_add(const float *even, const float *odd, float *out, long count, float bias) {
    __builtin_cpu_init();                                          // idempotent; the check is a load and a test
    if (__builtin_cpu_supports("avx512f")) interleave_avx512(even, odd, out, count, bias);
    else interleave_plain(even, odd, out, count, bias);
}

/// Vectors of the gather's edge masks built at once (a block: 1 KB of stack).
#define HAE_SUBPIXEL_BLOCK 256

HAE_COLUMNS_TARGET void hae_subpixel_gather_bf16(const float *input, long channels, long batch, long height,
                                                 long width, long first_row, long row_count, long first_pair,
                                                 long pair_count, uint16_t *b) {
    const long plane = height * width, panel_pairs = 2 * channels, count = row_count * width;
    const long vectors = (count + 15) / 16;
    int32_t *words = (int32_t *)b;
    // Column t = r·W + j of the chunk reads input row g + dy, column j + dx — in (C, N, H, W) the float
    // t + dy·W + dx after the chunk's first, so a vector's 16 columns are one contiguous load running on across
    // rows (and images), but for the lanes that must read 0: j = W − 1 when dx = 1, i = H − 1 when dy = 1.
    __mmask16 last_column[HAE_SUBPIXEL_BLOCK], last_row[HAE_SUBPIXEL_BLOCK];
    for (long v0 = 0; v0 < vectors; v0 += HAE_SUBPIXEL_BLOCK) {
        const long block_vectors = vectors - v0 < HAE_SUBPIXEL_BLOCK ? vectors - v0 : HAE_SUBPIXEL_BLOCK;
        long r = 16 * v0 / width, j = 16 * v0 - r * width, i = (first_row + r) % height;
        for (long v = 0; v < block_vectors; v++) {
            __mmask16 column = 0, row = 0;
            for (long lane = 0; lane < 16; lane++) {
                if (j == width - 1) column |= (__mmask16)(1u << lane);
                if (i == height - 1) row |= (__mmask16)(1u << lane);
                if (++j == width) { j = 0; if (++i == height) i = 0; }
            }
            last_column[v] = column;
            last_row[v] = row;
        }
        for (long q = first_pair; q < first_pair + pair_count; q++) {
            const long block = 2 * q / channels, ci = 2 * q - block * channels;
            const long dy = block == 0 || block == 3, dx = block >= 2;
            const float *even = input + ci * batch * plane + first_row * width + dy * width + dx;
            const float *odd = even + batch * plane;
            for (long v = 0; v < block_vectors; v++) {
                const long t = 16 * (v0 + v);
                const __mmask16 m = hae_first_lanes(count - t) & (__mmask16)~((dx ? last_column[v] : 0) | (dy ? last_row[v] : 0));
                const __m512i pair = hae_bf16_pair_words(_mm512_maskz_loadu_ps(m, even + t), _mm512_maskz_loadu_ps(m, odd + t));
                hae_bf16_store_columns(words, panel_pairs, q, t, count - t < 16 ? count - t : 16, pair);
            }
        }
    }
    for (long q = first_pair; q < first_pair + pair_count; q++) hae_bf16_zero_tail(words, panel_pairs, q, count);
}

#else

void hae_subpixel_interleave_add(const float *even, const float *odd, float *out, long count, float bias) {
    interleave_plain(even, odd, out, count, bias);
}
void hae_subpixel_gather_bf16(const float *input, long channels, long batch, long height, long width, long first_row,
                              long row_count, long first_pair, long pair_count, uint16_t *b) {
    (void)input; (void)channels; (void)batch; (void)height; (void)width; (void)first_row; (void)row_count;
    (void)first_pair; (void)pair_count; (void)b;
}

#endif
