// hae_transposed_winograd.c — see hae_transposed_winograd.h. The plain C loops define the arithmetic; the AVX-512
// loops do the same operations in the same order on 16 tiles of a tile row at a time (no fused multiply-adds:
// there are no multiplies), so both give the same bits.
#include "hae_transposed_winograd.h"

#include "hae_gemm_bf16.h"

/// The tile layout of a geometry: tiles per image column and row.
static long tiles_high(const hae_transposed_winograd_geometry *g) { return (g->height + 1) / 2; }
static long tiles_wide(const hae_transposed_winograd_geometry *g) { return (g->width + 1) / 2; }

// MARK: - Plain C

/// Pixel (y, x) of one channel's image (H, W), zero past its edges.
static inline float pixel(const float *image, long height, long width, long y, long x) {
    return y < height && x < width ? image[y * width + x] : 0.0f;
}

void hae_transposed_winograd_input_f32_plain(const float *input, long channels, long first_channel,
                                             long channel_count, const hae_transposed_winograd_geometry *geometry,
                                             float *b, long ldb) {
    const long height = geometry->height, width = geometry->width, plane = height * width;
    const long th = tiles_high(geometry), tw = tiles_wide(geometry);
    for (long c = first_channel; c < first_channel + channel_count; c++)
        for (long r = 0; r < geometry->row_count; r++) {
            const long g = geometry->first_row + r, n = g / th, a = g - n * th;
            const float *image = input + (c * geometry->batch + n) * plane;
            for (long tx = 0; tx < tw; tx++) {
                float across[3][4];                                 // rows 2a … 2a + 2: D_rx along the row
                for (long k = 0; k < 3; k++) {
                    const float even = pixel(image, height, width, 2 * a + k, 2 * tx);
                    const float odd = pixel(image, height, width, 2 * a + k, 2 * tx + 1);
                    const float next = pixel(image, height, width, 2 * a + k, 2 * tx + 2);
                    across[k][0] = even;
                    across[k][1] = odd;
                    across[k][2] = even - odd;
                    across[k][3] = next - odd;
                }
                float *out = b + c * ldb + r * tw + tx;
                const long step = channels * ldb;                   // one combination to the next
                for (long rx = 0; rx < 4; rx++) {                   // then D_ry down
                    out[(0 + rx) * step] = across[0][rx];
                    out[(4 + rx) * step] = across[1][rx];
                    out[(8 + rx) * step] = across[0][rx] - across[1][rx];
                    out[(12 + rx) * step] = across[2][rx] - across[1][rx];
                }
            }
        }
}

void hae_transposed_winograd_output_plain(const float *products, const long *offsets, long ldp, long channels,
                                          long first_channel, long channel_count, const float *bias,
                                          const hae_transposed_winograd_geometry *geometry, float *output) {
    (void)channels;
    const long height = geometry->height, width = geometry->width, out_width = 2 * width;
    const long th = tiles_high(geometry), tw = tiles_wide(geometry);
    for (long co = first_channel; co < first_channel + channel_count; co++)
        for (long r = 0; r < geometry->row_count; r++) {
            const long g = geometry->first_row + r, n = g / th, a = g - n * th;
            float *image = output + (co * geometry->batch + n) * 4 * height * width;
            for (long tx = 0; tx < tw; tx++) {
                float p[25];
                for (long k = 0; k < 25; k++) p[k] = products[offsets[k] + co * ldp + r * tw + tx];
                for (long py = 0; py < 4; py++) {
                    if (4 * a + py >= 2 * height) break;
                    float u[5];                                     // down first: row py of Aᵀ P
                    for (long j = 0; j < 5; j++)
                        u[j] = py == 0 ? p[j] : py == 1 ? p[10 + j] + p[15 + j]
                             : py == 2 ? p[5 + j] : p[15 + j] + p[20 + j];
                    const float o[4] = {u[0], u[2] + u[3], u[1], u[3] + u[4]};
                    float *row = image + (4 * a + py) * out_width + 4 * tx;
                    for (long q = 0; q < 4 && 4 * tx + q < out_width; q++) row[q] = o[q] + bias[co];
                }
            }
        }
}

#if defined(__x86_64__)
#include <immintrin.h>

#include "hae_bf16_columns.h"
#include "hae_f32_columns.h"

#define HAE_TW_TARGET __attribute__((target("avx512f")))

/// One input row's D_rx along it for 16 tiles from tile tx0: even, odd and next pixels by two VPERMT2PS and a
/// VALIGND; `row` is null past the map (a zero row).
#define ACROSS(row, width, tx0, d)                                                                          \
    {                                                                                                       \
        const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);    \
        const __m512i odds = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);     \
        __m512 lo = _mm512_setzero_ps(), hi = lo, last = lo;                                                 \
        if (row) {                                                                                          \
            lo = _mm512_maskz_loadu_ps(hae_lanes_inside(2 * (tx0), width), (row) + 2 * (tx0));                \
            hi = _mm512_maskz_loadu_ps(hae_lanes_inside(2 * (tx0) + 16, width), (row) + 2 * (tx0) + 16);      \
            last = _mm512_maskz_loadu_ps(hae_lanes_inside(2 * (tx0) + 32, width) & 1, (row) + 2 * (tx0) + 32); \
        }                                                                                                   \
        const __m512 even = _mm512_permutex2var_ps(lo, evens, hi), odd = _mm512_permutex2var_ps(lo, odds, hi); \
        const __m512 next = _mm512_castsi512_ps(                                                             \
            _mm512_alignr_epi32(_mm512_castps_si512(last), _mm512_castps_si512(even), 1));                  \
        d[0] = even;                                                                                        \
        d[1] = odd;                                                                                         \
        d[2] = _mm512_sub_ps(even, odd);                                                                    \
        d[3] = _mm512_sub_ps(next, odd);                                                                    \
    }

/// D_rx along rows 2a, 2a + 1 and 2a + 2 of one channel for 16 tiles from tx0: d[k][rx] for row 2a + k. `row` points
/// at row 2a; `below` and `further` are the offsets of rows 2a + 1 and 2a + 2, −1 for a row past the map (zero).
/// Both helpers are always inlined: where the compiler declined (into the bf16 caller's wider target), d went to the
/// stack and the transform ran 5 % slower.
#define HAE_TW_INLINE HAE_TW_TARGET __attribute__((always_inline)) static inline
HAE_TW_INLINE void rows_across(const float *row, long below, long further, long width, long tx0, __m512 d[3][4]) {
    ACROSS(row, width, tx0, d[0])
    ACROSS(below < 0 ? (const float *)0 : row + below, width, tx0, d[1])
    ACROSS(further < 0 ? (const float *)0 : row + further, width, tx0, d[2])
}

/// Transformed input k = 4·ry + rx: D_ry down the three rows' D_rx (x0, x1, x0 − x1, x2 − x1).
HAE_TW_INLINE __m512 combination(__m512 d[3][4], int k) {
    const int ry = k / 4, rx = k % 4;
    return ry == 0 ? d[0][rx] : ry == 1 ? d[1][rx] : ry == 2 ? _mm512_sub_ps(d[0][rx], d[1][rx])
                                                             : _mm512_sub_ps(d[2][rx], d[1][rx]);
}

/// Offsets of rows 2a + 1 and 2a + 2 from row 2a, −1 past the map (rows_across).
#define ROWS_BELOW(y, height, width)                                                                        \
    const long below = (y) + 1 < (height) ? (width) : -1, further = (y) + 2 < (height) ? 2 * (width) : -1;

/// The float32 input transform of channels first_channel … + channel_count − 1: each combination k stored row-major
/// (`ld` = ldb: b[(k·C_in + c)·ldb + t]) or, with `packed`, into the kernel's packed panels (`ld` = stride: combination
/// k's at b + k·stride, zero past the chunk's tiles). Always inlined with a constant `packed`: two loops, no branch.
HAE_TW_INLINE void input_f32_avx512(const float *input, long channels, long first_channel, long channel_count,
                                    const hae_transposed_winograd_geometry *geometry, float *b, long ld, int packed) {
    const long height = geometry->height, width = geometry->width, plane = height * width;
    const long th = tiles_high(geometry), tw = tiles_wide(geometry), count = geometry->row_count * tw;
    for (long c = first_channel; c < first_channel + channel_count; c++) {
        for (long r = 0; r < geometry->row_count; r++) {
            const long g = geometry->first_row + r, n = g / th, a = g - n * th, y = 2 * a;
            const float *row = input + (c * geometry->batch + n) * plane + y * width;
            ROWS_BELOW(y, height, width)
            for (long tx0 = 0; tx0 < tw; tx0 += 16) {
                __m512 d[3][4];
                rows_across(row, below, further, width, tx0, d);
                const long t = r * tw + tx0, lanes = tw - tx0 < 16 ? tw - tx0 : 16;
                _Pragma("clang loop unroll(full)")       // constant k: d stays in registers
                for (int k = 0; k < 16; k++) {
                    if (packed) hae_f32_store_columns(b + k * ld, channels, c, t, lanes, combination(d, k));
                    else _mm512_mask_storeu_ps(b + (k * channels + c) * ld + t, hae_first_lanes(lanes), combination(d, k));
                }
            }
        }
        if (packed)
            for (int k = 0; k < 16; k++) hae_f32_zero_tail(b + k * ld, channels, c, count);
    }
}

HAE_TW_TARGET static void input_f32_row_major(const float *input, long channels, long first_channel,
                                              long channel_count, const hae_transposed_winograd_geometry *geometry,
                                              float *b, long ldb) {
    input_f32_avx512(input, channels, first_channel, channel_count, geometry, b, ldb, 0);
}

HAE_TW_TARGET void hae_transposed_winograd_input_f32_packed(const float *input, long channels, long first_channel,
                                                            long channel_count,
                                                            const hae_transposed_winograd_geometry *geometry,
                                                            float *b, long stride) {
    input_f32_avx512(input, channels, first_channel, channel_count, geometry, b, stride, 1);
}

HAE_COLUMNS_TARGET void hae_transposed_winograd_input_bf16(const float *input, long channels, long first_pair,
                                                           long pair_count,
                                                           const hae_transposed_winograd_geometry *geometry,
                                                           uint16_t *b, long stride) {
    const long height = geometry->height, width = geometry->width, plane = height * width;
    const long th = tiles_high(geometry), tw = tiles_wide(geometry), panel_pairs = channels / 2;
    const long count = geometry->row_count * tw;
    for (long p = first_pair; p < first_pair + pair_count; p++) {
        for (long r = 0; r < geometry->row_count; r++) {
            const long g = geometry->first_row + r, n = g / th, a = g - n * th, y = 2 * a;
            const float *even = input + (2 * p * geometry->batch + n) * plane + y * width;   // channel 2p, row 2a
            const float *odd = even + geometry->batch * plane;                               // channel 2p + 1
            ROWS_BELOW(y, height, width)
            for (long tx0 = 0; tx0 < tw; tx0 += 16) {
                // Both channels' rows across, then each combination stored at once (holding all 32 transformed
                // vectors of the pair spilled them to the stack).
                __m512 e[3][4], o[3][4];
                rows_across(even, below, further, width, tx0, e);
                rows_across(odd, below, further, width, tx0, o);
                const long t = r * tw + tx0, lanes = tw - tx0 < 16 ? tw - tx0 : 16;
                _Pragma("clang loop unroll(full)")       // constant k: e and o stay in registers
                for (int k = 0; k < 16; k++)
                    hae_bf16_store_columns((int32_t *)(b + k * stride), panel_pairs, p, t, lanes,
                                           hae_bf16_pair_words(combination(e, k), combination(o, k)));
            }
        }
        for (int k = 0; k < 16; k++) hae_bf16_zero_tail((int32_t *)(b + k * stride), panel_pairs, p, count);
    }
}

/// One output row's 16 tiles × 4 outputs from its row of Aᵀ P (u0 … u4), plus the bias: o = (u0, u2 + u3, u1,
/// u3 + u4) per tile, interleaved into 64 consecutive floats (those past `columns` not written).
HAE_TW_TARGET static inline void store_row(__m512 u0, __m512 u1, __m512 u2, __m512 u3, __m512 u4, __m512 b,
                                           float *row, long columns) {
    // Pairs of vectors → lanes (a0, b0, a1, b1, …): tiles 0–7 (low) and 8–15 (high) of two outputs q.
    const __m512i low = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i high = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    // Then (q0, q1) pairs and (q2, q3) pairs as 64-bit lanes → the four outputs of tiles 0–3 (first) and 4–7.
    const __m512i first = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i second = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    const __m512 o0 = _mm512_add_ps(u0, b), o1 = _mm512_add_ps(_mm512_add_ps(u2, u3), b);
    const __m512 o2 = _mm512_add_ps(u1, b), o3 = _mm512_add_ps(_mm512_add_ps(u3, u4), b);
    const __m512d a0 = _mm512_castps_pd(_mm512_permutex2var_ps(o0, low, o1));
    const __m512d a1 = _mm512_castps_pd(_mm512_permutex2var_ps(o0, high, o1));
    const __m512d b0 = _mm512_castps_pd(_mm512_permutex2var_ps(o2, low, o3));
    const __m512d b1 = _mm512_castps_pd(_mm512_permutex2var_ps(o2, high, o3));
    _mm512_mask_storeu_ps(row, hae_first_lanes(columns), _mm512_castpd_ps(_mm512_permutex2var_pd(a0, first, b0)));
    _mm512_mask_storeu_ps(row + 16, hae_first_lanes(columns - 16),
                          _mm512_castpd_ps(_mm512_permutex2var_pd(a0, second, b0)));
    _mm512_mask_storeu_ps(row + 32, hae_first_lanes(columns - 32),
                          _mm512_castpd_ps(_mm512_permutex2var_pd(a1, first, b1)));
    _mm512_mask_storeu_ps(row + 48, hae_first_lanes(columns - 48),
                          _mm512_castpd_ps(_mm512_permutex2var_pd(a1, second, b1)));
}

/// Products 5i … 5i + 4 of 16 tiles (masked): P[i][0 … 4].
#define LOAD5(i, v0, v1, v2, v3, v4)                                                                        \
    const __m512 v0 = _mm512_maskz_loadu_ps(m, at + offsets[5 * (i)]);                                     \
    const __m512 v1 = _mm512_maskz_loadu_ps(m, at + offsets[5 * (i) + 1]);                                 \
    const __m512 v2 = _mm512_maskz_loadu_ps(m, at + offsets[5 * (i) + 2]);                                 \
    const __m512 v3 = _mm512_maskz_loadu_ps(m, at + offsets[5 * (i) + 3]);                                 \
    const __m512 v4 = _mm512_maskz_loadu_ps(m, at + offsets[5 * (i) + 4]);

HAE_TW_TARGET static void output_avx512(const float *products, const long *offsets, long ldp, long first_channel,
                                        long channel_count, const float *bias,
                                        const hae_transposed_winograd_geometry *geometry, float *output) {
    const long height = geometry->height, width = geometry->width, out_width = 2 * width;
    const long th = tiles_high(geometry), tw = tiles_wide(geometry);
    for (long co = first_channel; co < first_channel + channel_count; co++) {
        const __m512 b = _mm512_set1_ps(bias[co]);
        for (long r = 0; r < geometry->row_count; r++) {
            const long g = geometry->first_row + r, n = g / th, a = g - n * th;
            float *image = output + (co * geometry->batch + n) * 4 * height * width;
            const long rows = 2 * height - 4 * a < 4 ? 2 * height - 4 * a : 4;   // output rows 4a … inside
            for (long tx0 = 0; tx0 < tw; tx0 += 16) {
                const __mmask16 m = hae_first_lanes(tw - tx0);
                const float *at = products + co * ldp + r * tw + tx0;
                const long columns = out_width - 4 * tx0;           // of a row's 64 outputs, those inside
                float *row = image + 4 * a * out_width + 4 * tx0;
                // Row by row of Aᵀ P (down first), loading only the products a row needs (all 25 at once spilled):
                // rows 0 and 2 are P[0][·] and P[1][·]; rows 1 and 3 share P[3][·].
                { LOAD5(0, p0, p1, p2, p3, p4) store_row(p0, p1, p2, p3, p4, b, row, columns); }
                if (rows > 2) {
                    LOAD5(1, p0, p1, p2, p3, p4)
                    store_row(p0, p1, p2, p3, p4, b, row + 2 * out_width, columns);
                }
                {
                    LOAD5(3, s0, s1, s2, s3, s4)
                    { LOAD5(2, p0, p1, p2, p3, p4)
                      store_row(_mm512_add_ps(p0, s0), _mm512_add_ps(p1, s1), _mm512_add_ps(p2, s2),
                                _mm512_add_ps(p3, s3), _mm512_add_ps(p4, s4), b, row + out_width, columns); }
                    if (rows > 3) {
                        LOAD5(4, p0, p1, p2, p3, p4)
                        store_row(_mm512_add_ps(s0, p0), _mm512_add_ps(s1, p1), _mm512_add_ps(s2, p2),
                                  _mm512_add_ps(s3, p3), _mm512_add_ps(s4, p4), b, row + 3 * out_width, columns);
                    }
                }
            }
        }
    }
}

static int has_avx512(void) {
    __builtin_cpu_init();                                          // idempotent; the check is a load and a test
    return __builtin_cpu_supports("avx512f");
}

void hae_transposed_winograd_input_f32(const float *input, long channels, long first_channel, long channel_count,
                                       const hae_transposed_winograd_geometry *geometry, float *b, long ldb) {
    if (has_avx512()) input_f32_row_major(input, channels, first_channel, channel_count, geometry, b, ldb);
    else hae_transposed_winograd_input_f32_plain(input, channels, first_channel, channel_count, geometry, b, ldb);
}

void hae_transposed_winograd_output(const float *products, const long *offsets, long ldp, long channels,
                                    long first_channel, long channel_count, const float *bias,
                                    const hae_transposed_winograd_geometry *geometry, float *output) {
    if (has_avx512()) output_avx512(products, offsets, ldp, first_channel, channel_count, bias, geometry, output);
    else hae_transposed_winograd_output_plain(products, offsets, ldp, channels, first_channel, channel_count, bias,
                                              geometry, output);
}

#else  // not x86-64: the plain loops; bf16 never runs (hae_gemm_bf16_available() is 0).

void hae_transposed_winograd_input_f32(const float *input, long channels, long first_channel, long channel_count,
                                       const hae_transposed_winograd_geometry *geometry, float *b, long ldb) {
    hae_transposed_winograd_input_f32_plain(input, channels, first_channel, channel_count, geometry, b, ldb);
}
void hae_transposed_winograd_input_bf16(const float *input, long channels, long first_pair, long pair_count,
                                        const hae_transposed_winograd_geometry *geometry, uint16_t *b, long stride) {
    (void)input; (void)channels; (void)first_pair; (void)pair_count; (void)geometry; (void)b; (void)stride;
}
void hae_transposed_winograd_input_f32_packed(const float *input, long channels, long first_channel,
                                              long channel_count, const hae_transposed_winograd_geometry *geometry,
                                              float *b, long stride) {
    (void)input; (void)channels; (void)first_channel; (void)channel_count; (void)geometry; (void)b; (void)stride;
}
void hae_transposed_winograd_output(const float *products, const long *offsets, long ldp, long channels,
                                    long first_channel, long channel_count, const float *bias,
                                    const hae_transposed_winograd_geometry *geometry, float *output) {
    hae_transposed_winograd_output_plain(products, offsets, ldp, channels, first_channel, channel_count, bias,
                                         geometry, output);
}

#endif
