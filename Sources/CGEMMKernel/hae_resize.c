// hae_resize.c — see hae_resize.h.
#include "hae_resize.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "hae_lanes.h"

int hae_resize_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

#define HAE_R_TARGET __attribute__((target("avx512f")))

/// h(row) into target (out_w floats). Where a block's 16 outputs read from 32 consecutive source columns (any
/// upscale, and downscales to at least about half) two loads and VPERMT2PS pick them; VGATHERDPS, which measured
/// twice as slow on Zen 4, only elsewhere.
HAE_R_TARGET static void interpolate_row(const float *row, long in_w, long out_w, const hae_bilinear_taps *cols,
                                         float *target) {
    for (long x = 0; x < out_w; x += 16) {
        const __mmask16 m = hae_first_lanes(out_w - x);
        const long last = (out_w - x < 16 ? out_w : x + 16) - 1, base = cols->low[x];
        const __m512i low = _mm512_maskz_loadu_epi32(m, cols->low + x), high = _mm512_maskz_loadu_epi32(m, cols->high + x);
        __m512 a, b;
        if (cols->high[last] - base < 32) {
            const __m512i origin = _mm512_set1_epi32((int)base);
            const __m512 w0 = _mm512_maskz_loadu_ps(hae_first_lanes(in_w - base), row + base);
            const __m512 w1 = _mm512_maskz_loadu_ps(hae_first_lanes(in_w - base - 16), row + base + 16);
            a = _mm512_permutex2var_ps(w0, _mm512_sub_epi32(low, origin), w1);
            b = _mm512_permutex2var_ps(w0, _mm512_sub_epi32(high, origin), w1);
        } else {
            a = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, low, row, 4);
            b = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, high, row, 4);
        }
        const __m512 value = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, cols->low_weight + x), a),
                                           _mm512_mul_ps(_mm512_maskz_loadu_ps(m, cols->high_weight + x), b));
        _mm512_mask_storeu_ps(target + x, m, value);
    }
}

HAE_R_TARGET void hae_resize_bilinear(const float *input, long in_w, long planes, long in_plane, float *output,
                                      long out_h, long out_w, const hae_bilinear_taps *rows,
                                      const hae_bilinear_taps *cols, float *cache) {
    for (long p = 0; p < planes; p++) {
        const float *source = input + p * in_plane;
        float *destination = output + p * out_h * out_w;
        // Each needed source row is interpolated along x once, into one of two cached rows: low/high never decrease
        // with y, so the pair slides down the image.
        float *upper = cache, *lower = cache + out_w + 16;
        long upper_row = -1, lower_row = -1;
        for (long y = 0; y < out_h; y++) {
            const long low = rows->low[y], high = rows->high[y];
            if (low != upper_row) {
                if (low == lower_row) {
                    float *t = upper; upper = lower; lower = t;
                    const long r = upper_row; upper_row = lower_row; lower_row = r;
                } else {
                    interpolate_row(source + low * in_w, in_w, out_w, cols, upper);
                    upper_row = low;
                }
            }
            if (high != lower_row) {
                interpolate_row(source + high * in_w, in_w, out_w, cols, lower);
                lower_row = high;
            }
            const __m512 top = _mm512_set1_ps(rows->low_weight[y]), bottom = _mm512_set1_ps(rows->high_weight[y]);
            for (long x = 0; x < out_w; x += 16) {                  // PyTorch's order: wTop·top + wBottom·bottom
                const __mmask16 m = hae_first_lanes(out_w - x);
                const __m512 value = _mm512_add_ps(_mm512_mul_ps(top, _mm512_maskz_loadu_ps(m, upper + x)),
                                                   _mm512_mul_ps(bottom, _mm512_maskz_loadu_ps(m, lower + x)));
                _mm512_mask_storeu_ps(destination + x, m, value);
            }
            destination += out_w;
        }
    }
}

#else

int hae_resize_available(void) { return 0; }
void hae_resize_bilinear(const float *input, long in_w, long planes, long in_plane, float *output, long out_h,
                         long out_w, const hae_bilinear_taps *rows, const hae_bilinear_taps *cols, float *cache) {
    (void)input; (void)in_w; (void)planes; (void)in_plane; (void)output; (void)out_h; (void)out_w; (void)rows;
    (void)cols; (void)cache;
}

#endif
