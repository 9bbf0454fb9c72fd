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

HAE_COLUMNS_TARGET void hae_subpixel_gather_bf16(const float *input, long channels, long batch, long height,
                                                 long width, long first_row, long row_count, long first_pair,
                                                 long pair_count, uint16_t *b) {
    const long plane = height * width, panel_pairs = 2 * channels, count = row_count * width;
    int32_t *words = (int32_t *)b;
    for (long q = first_pair; q < first_pair + pair_count; q++) {
        const long block = 2 * q / channels, ci = 2 * q - block * channels;
        const long dy = block == 0 || block == 3, dx = block >= 2;
        const float *even_channel = input + ci * batch * plane, *odd_channel = even_channel + batch * plane;
        for (long r = 0; r < row_count; r++) {
            const long g = first_row + r, n = g / height, i = g - n * height;
            const int inside = i + dy < height;
            const float *even = even_channel + n * plane + (i + dy) * width + dx, *odd = odd_channel + (even - even_channel);
            const long valid = inside ? width - dx : 0;              // columns j < valid read the row; the rest are 0
            for (long j = 0; j < width; j += 16) {
                const __mmask16 m = hae_first_lanes(valid - j);
                const __m512i pair = hae_bf16_pair_words(_mm512_maskz_loadu_ps(m, even + j),
                                                         _mm512_maskz_loadu_ps(m, odd + j));
                hae_bf16_store_columns(words, panel_pairs, q, r * width + j, width - j < 16 ? width - j : 16, pair);
            }
        }
        hae_bf16_zero_tail(words, panel_pairs, q, count);
    }
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
