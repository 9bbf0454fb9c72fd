// hae_conv3x3.c — see hae_conv3x3.h. The AVX-512 version walks the output in blocks of two rows × 16 columns and
// sums all three output channels at once (six accumulators; per input channel and input row three shifted loads
// and up to eighteen FMAs with broadcast weights). The left and right neighbours of a block come from masked
// loads, zero outside the image; the first block's left neighbour is the centre vector shifted by one lane
// (VALIGND), so no load ever starts before the input. Each block prefetches, per input channel, the rows the next
// row pair will add: the 32 channel planes are 32 streams a multiple of 4 KB apart, more than the hardware
// prefetchers follow (at batch 8, input from memory: 0.9–1.2 ms per image without the prefetch, 0.45 with it;
// one row per block instead of two, 0.61).
// The AVX2 + FMA version is the same loop at 8 lanes; the portable one adds shifted rows into the output row
// (`out[j] += x[j−1]·w0 + x[j]·w1 + x[j+1]·w2`). Measured per 160×160 image, C_in 32, batch 8, one Zen 4 core:
// AVX-512 0.45 ms, AVX2 0.67 ms, portable 1.8 ms; the Swift AVX2 version this replaced, 0.77 ms in `histoae bench`.
#include "hae_conv3x3.h"

#include <pthread.h>

/// One call's sizes and buffers, with the strides derived from them (checked for overflow once).
struct hae_conv3x3 {
    const float *input, *weight;
    float *output;
    long channels, height, width;
    long plane;          // H·W: image n starts n·plane into a channel
    long channel_stride; // N·H·W: input and output channels are this far apart
    long tap_stride;     // C_in·9: the weights of output channel co + 1
    long input_count;    // C_in·N·H·W
};

// MARK: - Portable

/// Output row i of image n, all three channels, summed in the output row itself.
static void row_portable(const struct hae_conv3x3 *p, long n, long i) {
    const long width = p->width;
    float *restrict o0 = p->output + n * p->plane + i * width;
    float *restrict o1 = o0 + p->channel_stride;
    float *restrict o2 = o1 + p->channel_stride;
    for (long j = 0; j < width; j++) o0[j] = o1[j] = o2[j] = 0;
    const long u_low = i == 0 ? 1 : 0, u_high = i == p->height - 1 ? 2 : 3;
    for (long c = 0; c < p->channels; c++)
        for (long u = u_low; u < u_high; u++) {
            const float *restrict x = p->input + c * p->channel_stride + n * p->plane + (i - 1 + u) * width;
            const float *t = p->weight + c * 9 + u * 3;
            const float a0 = t[0], a1 = t[1], a2 = t[2];
            t += p->tap_stride;
            const float b0 = t[0], b1 = t[1], b2 = t[2];
            t += p->tap_stride;
            const float c0 = t[0], c1 = t[1], c2 = t[2];
            if (width == 1) {
                o0[0] = o0[0] + x[0] * a1; o1[0] = o1[0] + x[0] * b1; o2[0] = o2[0] + x[0] * c1;
                continue;
            }
            o0[0] = o0[0] + x[0] * a1 + x[1] * a2;
            o1[0] = o1[0] + x[0] * b1 + x[1] * b2;
            o2[0] = o2[0] + x[0] * c1 + x[1] * c2;
            for (long j = 1; j < width - 1; j++) {
                o0[j] = o0[j] + x[j - 1] * a0 + x[j] * a1 + x[j + 1] * a2;
                o1[j] = o1[j] + x[j - 1] * b0 + x[j] * b1 + x[j + 1] * b2;
                o2[j] = o2[j] + x[j - 1] * c0 + x[j] * c1 + x[j + 1] * c2;
            }
            const long e = width - 1;
            o0[e] = o0[e] + x[e - 1] * a0 + x[e] * a1;
            o1[e] = o1[e] + x[e - 1] * b0 + x[e] * b1;
            o2[e] = o2[e] + x[e - 1] * c0 + x[e] * c1;
        }
}

static void rows_portable(const struct hae_conv3x3 *p, long g, long end) {
    for (; g < end; g++) {
        const long n = g / p->height;
        row_portable(p, n, g - n * p->height);
    }
}

typedef void (*hae_conv3x3_rows)(const struct hae_conv3x3 *, long, long);

#if defined(__x86_64__)
#include <immintrin.h>

// MARK: - AVX2 + FMA (block8: block16's loop at 8 lanes)

#define HAE_AVX2 __attribute__((target("avx2,fma")))

/// Lanes l < count set (all-ones), as VMASKMOVPS wants them; masked-off lanes are neither read nor written.
HAE_AVX2 static inline __m256i lanes8(long count) {
    const long clamped = count < 0 ? 0 : count > 8 ? 8 : count;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)clamped), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define HAE_TAPS8(acc, t) { \
    acc = _mm256_fmadd_ps(x0, _mm256_broadcast_ss((t)), acc); \
    acc = _mm256_fmadd_ps(x1, _mm256_broadcast_ss((t) + 1), acc); \
    acc = _mm256_fmadd_ps(x2, _mm256_broadcast_ss((t) + 2), acc); }

#define HAE_STORE8(q, v) { if (inner) _mm256_storeu_ps(q, v); else _mm256_maskstore_ps(q, centre, v); }

/// block16 (below) with 8 columns; the first block's left neighbour is the centre moved up one lane (VPERMPS),
/// lane 0 zeroed. `inner` blocks (1 ≤ j, j + 9 ≤ W: all three loads inside the row) use plain loads and stores:
/// VMASKMOVPS is slow on AMD (its store is microcoded), so only the first and last blocks take it.
HAE_AVX2 static inline __attribute__((always_inline))
void block8(const struct hae_conv3x3 *p, long n, long i, long j, int first, int inner, int pair) {
    const long width = p->width;
    const __m256i centre = lanes8(width - j), left = lanes8(width - j + 1), right = lanes8(width - j - 1);
    const __m256i up_one = _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6);
    const long r_low = i == 0 ? 1 : 0;
    const long r_limit = p->height - i + 1, r_high = (pair ? 4 : 3) < r_limit ? (pair ? 4 : 3) : r_limit;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, b0 = a0, b1 = a0, b2 = a0;
    const float *image = p->input + n * p->plane + j;
    const long ahead = n * p->plane + (i + (pair ? 3 : 2)) * width + j, ahead_end = p->input_count - 2 * width;
    for (long c = 0; c < p->channels; c++) {
        const float *rows = image + c * p->channel_stride;
        const float *taps = p->weight + c * 9;
        if ((j & 15) == 0 && c * p->channel_stride + ahead < ahead_end) {      // one line (16 floats) per row
            _mm_prefetch((const char *)(p->input + c * p->channel_stride + ahead), _MM_HINT_T0);
            if (pair) _mm_prefetch((const char *)(p->input + c * p->channel_stride + ahead + width), _MM_HINT_T0);
        }
        for (long r = r_low; r < r_high; r++) {
            const float *x = rows + (i - 1 + r) * width;
            const __m256 x1 = inner ? _mm256_loadu_ps(x) : _mm256_maskload_ps(x, centre);
            const __m256 x0 = inner ? _mm256_loadu_ps(x - 1)
                : first ? _mm256_blend_ps(_mm256_permutevar8x32_ps(x1, up_one), _mm256_setzero_ps(), 1)
                : _mm256_maskload_ps(x - 1, left);
            const __m256 x2 = inner ? _mm256_loadu_ps(x + 1) : _mm256_maskload_ps(x + 1, right);
            if (r <= 2) {
                const float *t = taps + r * 3;
                HAE_TAPS8(a0, t) HAE_TAPS8(a1, t + p->tap_stride) HAE_TAPS8(a2, t + 2 * p->tap_stride)
            }
            if (pair && r >= 1) {
                const float *t = taps + (r - 1) * 3;
                HAE_TAPS8(b0, t) HAE_TAPS8(b1, t + p->tap_stride) HAE_TAPS8(b2, t + 2 * p->tap_stride)
            }
        }
    }
    float *target = p->output + n * p->plane + i * width + j;
    HAE_STORE8(target, a0) HAE_STORE8(target + p->channel_stride, a1) HAE_STORE8(target + 2 * p->channel_stride, a2)
    if (pair) {
        target += width;
        HAE_STORE8(target, b0) HAE_STORE8(target + p->channel_stride, b1) HAE_STORE8(target + 2 * p->channel_stride, b2)
    }
}

HAE_AVX2 static void rows_avx2(const struct hae_conv3x3 *p, long g, long end) {
    while (g < end) {
        const long n = g / p->height, i = g - n * p->height;
        const int pair = g + 1 < end && i + 1 < p->height;
        long j = 8;
        if (pair) {
            block8(p, n, i, 0, 1, 0, 1);
            for (; j + 9 <= p->width; j += 8) block8(p, n, i, j, 0, 1, 1);
            for (; j < p->width; j += 8) block8(p, n, i, j, 0, 0, 1);
        } else {
            block8(p, n, i, 0, 1, 0, 0);
            for (; j + 9 <= p->width; j += 8) block8(p, n, i, j, 0, 1, 0);
            for (; j < p->width; j += 8) block8(p, n, i, j, 0, 0, 0);
        }
        g += pair ? 2 : 1;
    }
}

// MARK: - AVX-512

#define HAE_AVX512 __attribute__((target("avx512f,fma")))

static inline __mmask16 lanes16(long count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

/// acc += x0·t[0] + x1·t[1] + x2·t[2], in that order, each product fused.
#define HAE_TAPS(acc, t) { \
    acc = _mm512_fmadd_ps(x0, _mm512_set1_ps((t)[0]), acc); \
    acc = _mm512_fmadd_ps(x1, _mm512_set1_ps((t)[1]), acc); \
    acc = _mm512_fmadd_ps(x2, _mm512_set1_ps((t)[2]), acc); }

/// Columns [j, j + 16) of output row i of image n (and of row i + 1 when `pair`), all three channels. `first` (the
/// block at j = 0) and `pair` are constants at every call, so each of the four combinations compiles branch-free.
HAE_AVX512 static inline __attribute__((always_inline))
void block16(const struct hae_conv3x3 *p, long n, long i, long j, int first, int pair) {
    const long width = p->width;
    const __mmask16 centre = lanes16(width - j), left = lanes16(width - j + 1), right = lanes16(width - j - 1);
    // Input rows i − 1 + r, r ∈ [r_low, r_high): r ≤ 2 feed output row i (kernel row r), r ≥ 1 row i + 1 (r − 1).
    const long r_low = i == 0 ? 1 : 0;
    const long r_limit = p->height - i + 1, r_high = (pair ? 4 : 3) < r_limit ? (pair ? 4 : 3) : r_limit;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, b0 = a0, b1 = a0, b2 = a0;
    const float *image = p->input + n * p->plane + j;
    // The rows the next call down the image will add (they follow in memory, into the next image's top rows).
    const long ahead = n * p->plane + (i + (pair ? 3 : 2)) * width + j, ahead_end = p->input_count - 2 * width;
    for (long c = 0; c < p->channels; c++) {
        const float *rows = image + c * p->channel_stride;
        const float *taps = p->weight + c * 9;
        if (c * p->channel_stride + ahead < ahead_end) {
            _mm_prefetch((const char *)(p->input + c * p->channel_stride + ahead), _MM_HINT_T0);
            if (pair) _mm_prefetch((const char *)(p->input + c * p->channel_stride + ahead + width), _MM_HINT_T0);
        }
        for (long r = r_low; r < r_high; r++) {
            const float *x = rows + (i - 1 + r) * width;
            const __m512 x1 = _mm512_maskz_loadu_ps(centre, x);
            const __m512 x0 = first
                ? _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(x1), _mm512_setzero_si512(), 15))
                : _mm512_maskz_loadu_ps(left, x - 1);
            const __m512 x2 = _mm512_maskz_loadu_ps(right, x + 1);
            if (r <= 2) {
                const float *t = taps + r * 3;
                HAE_TAPS(a0, t) HAE_TAPS(a1, t + p->tap_stride) HAE_TAPS(a2, t + 2 * p->tap_stride)
            }
            if (pair && r >= 1) {
                const float *t = taps + (r - 1) * 3;
                HAE_TAPS(b0, t) HAE_TAPS(b1, t + p->tap_stride) HAE_TAPS(b2, t + 2 * p->tap_stride)
            }
        }
    }
    float *target = p->output + n * p->plane + i * width + j;
    _mm512_mask_storeu_ps(target, centre, a0);
    _mm512_mask_storeu_ps(target + p->channel_stride, centre, a1);
    _mm512_mask_storeu_ps(target + 2 * p->channel_stride, centre, a2);
    if (pair) {
        target += width;
        _mm512_mask_storeu_ps(target, centre, b0);
        _mm512_mask_storeu_ps(target + p->channel_stride, centre, b1);
        _mm512_mask_storeu_ps(target + 2 * p->channel_stride, centre, b2);
    }
}

/// Rows [g, end) two at a time where both lie in one image and in the range, else one.
HAE_AVX512 static void rows_avx512(const struct hae_conv3x3 *p, long g, long end) {
    while (g < end) {
        const long n = g / p->height, i = g - n * p->height;
        const int pair = g + 1 < end && i + 1 < p->height;
        if (pair) {
            block16(p, n, i, 0, 1, 1);
            for (long j = 16; j < p->width; j += 16) block16(p, n, i, j, 0, 1);
        } else {
            block16(p, n, i, 0, 1, 0);
            for (long j = 16; j < p->width; j += 16) block16(p, n, i, j, 0, 0);
        }
        g += pair ? 2 : 1;
    }
}

static hae_conv3x3_rows best_rows(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return rows_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return rows_avx2;
    return rows_portable;
}
#else
static hae_conv3x3_rows best_rows(void) { return rows_portable; }
#endif

// MARK: - Dispatch

static hae_conv3x3_rows chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void) { chosen = best_rows(); }

int hae_conv3x3_to3(const float *input, long channels, long batch, long height, long width, const float *weight,
                    float *output, long row_begin, long row_end) {
    long plane, channel_stride, input_count, output_count, tap_stride, rows;
    if (channels < 0 || batch < 0 || height < 0 || width < 0
        || __builtin_mul_overflow(height, width, &plane)
        || __builtin_mul_overflow(batch, plane, &channel_stride)
        || __builtin_mul_overflow(channels, channel_stride, &input_count)
        || __builtin_mul_overflow(3L, channel_stride, &output_count)
        || __builtin_mul_overflow(channels, 9L, &tap_stride)
        || __builtin_mul_overflow(batch, height, &rows)
        || row_begin < 0 || row_begin > row_end || row_end > rows) return -1;
    if (row_begin == row_end || width == 0) return 0;
    const struct hae_conv3x3 p = {
        .input = input, .weight = weight, .output = output, .channels = channels, .height = height, .width = width,
        .plane = plane, .channel_stride = channel_stride, .tap_stride = tap_stride,
        .input_count = input_count,
    };
    pthread_once(&chosen_once, choose);
    chosen(&p, row_begin, row_end);
    return 0;
}
