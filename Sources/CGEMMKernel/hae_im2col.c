// hae_im2col.c — see hae_im2col.h.
#include "hae_im2col.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "hae_bf16_columns.h"

/// Where row k of the im2col matrix reads: its channel plane and kernel offsets; `rows` past K: a zero row.
typedef struct {
    const float *channel;                                              // input[c, 0, 0, 0]; NULL: the zero depth
    long u, v;
} window_row;

static window_row locate(const float *input, long k, long rows, long kernel, long batch, long plane) {
    if (k >= rows) return (window_row){NULL, 0, 0};
    const long window = kernel * kernel, c = k / window, uv = k - c * window;
    return (window_row){input + c * batch * plane, uv / kernel, uv - uv / kernel * kernel};
}

/// Row `w` at output row (n, i), output columns j … j + 15 (zero past out_w and in the padding).
HAE_COLUMNS_TARGET static inline __m512 gather(window_row w, long n, long i, long j, long stride, long padding,
                                               long height, long width, long out_w) {
    const long y = stride * i + w.u - padding;
    if (!w.channel || y < 0 || y >= height) return _mm512_setzero_ps();
    const float *row = w.channel + (n * height + y) * width;
    const long x = stride * j + w.v - padding;                         // source column of output column j
    const __mmask16 columns = hae_first_lanes(out_w - j);
    if (stride == 1) return _mm512_maskz_loadu_ps(hae_lanes_inside(x, width) & columns, row + x);
    // stride 2: the even lanes of 32 loaded floats.
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512 low = _mm512_maskz_loadu_ps(hae_lanes_inside(x, width), row + x);
    const __m512 high = _mm512_maskz_loadu_ps(hae_lanes_inside(x + 16, width), row + x + 16);
    return _mm512_maskz_mov_ps(columns, _mm512_permutex2var_ps(low, even, high));
}

HAE_COLUMNS_TARGET void hae_im2col_bf16(const float *input, long channels, long batch, long height, long width,
                                        long kernel, long stride, long padding, long out_h, long out_w, long first_row,
                                        long row_count, long first_pair, long pair_count, uint16_t *b) {
    const long rows = channels * kernel * kernel, panel_pairs = (rows + 1) / 2, count = row_count * out_w;
    const long plane = height * width;
    int32_t *words = (int32_t *)b;
    for (long q = first_pair; q < first_pair + pair_count; q++) {
        const window_row even = locate(input, 2 * q, rows, kernel, batch, plane);
        const window_row odd = locate(input, 2 * q + 1, rows, kernel, batch, plane);
        long n = first_row / out_h, i = first_row - n * out_h;
        for (long r = 0; r < row_count; r++) {
            for (long j = 0; j < out_w; j += 16)
                hae_bf16_store_columns(words, panel_pairs, q, r * out_w + j, out_w - j < 16 ? out_w - j : 16,
                                       hae_bf16_pair_words(gather(even, n, i, j, stride, padding, height, width, out_w),
                                                           gather(odd, n, i, j, stride, padding, height, width, out_w)));
            if (++i == out_h) { i = 0; n++; }
        }
        hae_bf16_zero_tail(words, panel_pairs, q, count);
    }
}

#else

void hae_im2col_bf16(const float *input, long channels, long batch, long height, long width, long kernel, long stride,
                     long padding, long out_h, long out_w, long first_row, long row_count, long first_pair,
                     long pair_count, uint16_t *b) {
    (void)input; (void)channels; (void)batch; (void)height; (void)width; (void)kernel; (void)stride; (void)padding;
    (void)out_h; (void)out_w; (void)first_row; (void)row_count; (void)first_pair; (void)pair_count; (void)b;
}

#endif
