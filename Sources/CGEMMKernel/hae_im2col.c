// hae_im2col.c — see hae_im2col.h.
#include "hae_im2col.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "hae_bf16_columns.h"
#include "hae_f32_columns.h"

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

/// One output row's lanes in a 16-column vector of the chunk (columns t = r·out_w + j run on from one output row
/// into the next, so a narrow map — enc4's 10 columns, enc3's 19 — fills whole vectors). Lane l of the segment
/// reads column `column + stride·l` of input row `stride·i + u − padding` of image n; `low`/`high[v]` mask the
/// positions of the 32 (stride 2) or 16 (stride 1) loaded floats that are the segment's lanes and inside the row,
/// for kernel column v. Depends on the chunk's shape only: built once per block of vectors, for every depth pair.
/// `triple_*`: at stride 2, the positions 0 … 32 from `column` that kernel columns 0, 1 and 2 read together (lane l
/// of column v reads position 2l + v), inside the row; `lanes`: the segment's lanes.
typedef struct {
    int32_t n, i, column;                                              // column: of lane 0 (may lie outside)
    __mmask16 low[HAE_IM2COL_MAX_KERNEL], high[HAE_IM2COL_MAX_KERNEL];
    __mmask16 triple_low, triple_high, triple_last, lanes;
} column_segment;

/// Segments one block of vectors holds at most (a vector spans at most 16 output rows).
#define HAE_IM2COL_SEGMENTS 128

/// Lanes lo … hi − 1 of positions base … base + 15 (none when lo ≥ hi).
static inline __mmask16 lanes_between(long lo, long hi, long base) {
    return lo < hi ? (__mmask16)(hae_first_lanes(hi - base) & ~hae_first_lanes(lo - base)) : 0;
}

/// The segments of vectors v0 … (at most) v0 + 31 of a chunk of `count` columns; vector k's are
/// first[k − v0] … first[k − v0 + 1] − 1. Stops early rather than overflow the table. Returns the vectors built.
static long column_segments(long v0, long vectors, long count, long first_row, long out_h, long out_w, long stride,
                            long padding, long width, long kernel, column_segment *segments, int32_t *first) {
    long k = 0, built = 0;
    for (long v = v0; v < vectors && built < 32; v++, built++) {
        const long t0 = 16 * v, end = count - t0 < 16 ? count : t0 + 16;
        long r = t0 / out_w, j = t0 - r * out_w;
        if (k + (end - t0 + out_w - 1) / out_w + 1 > HAE_IM2COL_SEGMENTS) break;
        first[built] = (int32_t)k;
        for (long t = t0; t < end; r++, j = 0) {
            const long stop = t + (out_w - j) < end ? t + (out_w - j) : end;
            const long lo = t - t0, hi = stop - t0, global = first_row + r, n = global / out_h;
            column_segment *segment = segments + k++;
            segment->n = (int32_t)n;
            segment->i = (int32_t)(global - n * out_h);
            segment->column = (int32_t)(stride * (j - lo) - padding);
            for (long v = 0; v < kernel; v++) {
                // Position m (lane m/stride) holds column column + u + m: inside 0 … width − 1 and the segment's.
                const long c0 = segment->column + v;
                const long mlo = stride * lo > -c0 ? stride * lo : -c0;
                const long mhi = stride * hi < width - c0 ? stride * hi : width - c0;
                segment->low[v] = lanes_between(mlo, mhi, 0);
                segment->high[v] = lanes_between(mlo, mhi, 16);
            }
            const long c0 = segment->column, tlo = 2 * lo > -c0 ? 2 * lo : -c0;
            const long thi = 2 * hi + 1 < width - c0 ? 2 * hi + 1 : width - c0;
            segment->triple_low = lanes_between(tlo, thi, 0);
            segment->triple_high = lanes_between(tlo, thi, 16);
            segment->triple_last = lanes_between(tlo, thi, 32);
            segment->lanes = lanes_between(lo, hi, 0);
            t = stop;
        }
    }
    first[built] = (int32_t)k;
    return built;
}

/// Row `w` at the vector whose segments are segments[a … b − 1] (zero in the padding and past the chunk). AVX-512F
/// only, always inlined, so that both the float32 and the bf16 gather (a wider target) take it in.
HAE_F32_COLUMNS_TARGET __attribute__((always_inline)) static inline __m512 gather(
    window_row w, const column_segment *segments, long a, long b, long stride, long padding, long height, long width) {
    __m512 low = _mm512_setzero_ps(), high = low;
    if (!w.channel) return low;
    for (long k = a; k < b; k++) {
        const column_segment *segment = segments + k;
        const long y = stride * segment->i + w.u - padding;
        if (y < 0 || y >= height) continue;
        const float *at = w.channel + (segment->n * height + y) * width + segment->column + w.v;
        low = _mm512_mask_loadu_ps(low, segment->low[w.v], at);
        if (stride == 2) high = _mm512_mask_loadu_ps(high, segment->high[w.v], at + 16);
    }
    if (stride == 1) return low;
    // stride 2: the even positions of the 32 loaded floats.
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    return _mm512_permutex2var_ps(low, even, high);
}

/// Rows `w` (kernel column 0) and the two after it (columns 1 and 2 of the same channel and kernel row) at stride 2,
/// from one set of loads per segment: the even positions, the odd ones, and the even ones shifted by one
/// (VALIGND with position 32). The same values as three gather() calls, a third of the loads and masks: im2col
/// was a sixth of the encoder's time.
HAE_F32_COLUMNS_TARGET __attribute__((always_inline)) static inline void gather_triple(
    window_row w, const column_segment *segments, long a, long b, long padding, long height, long width,
    __m512 out[3]) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    __m512 r0 = _mm512_setzero_ps(), r1 = r0, r2 = r0;
    for (long k = a; k < b; k++) {
        const column_segment *segment = segments + k;
        const long y = 2 * segment->i + w.u - padding;
        if (y < 0 || y >= height) continue;
        const float *at = w.channel + (segment->n * height + y) * width + segment->column;
        const __m512 low = _mm512_maskz_loadu_ps(segment->triple_low, at);
        const __m512 high = _mm512_maskz_loadu_ps(segment->triple_high, at + 16);
        const __m512 last = _mm512_maskz_loadu_ps(segment->triple_last, at + 32);
        const __m512 evens = _mm512_permutex2var_ps(low, even, high);
        r0 = _mm512_mask_mov_ps(r0, segment->lanes, evens);
        r1 = _mm512_mask_mov_ps(r1, segment->lanes, _mm512_permutex2var_ps(low, odd, high));
        r2 = _mm512_mask_mov_ps(r2, segment->lanes, _mm512_castsi512_ps(_mm512_alignr_epi32(
            _mm512_castps_si512(last), _mm512_castps_si512(evens), 1)));
    }
    out[0] = r0;
    out[1] = r1;
    out[2] = r2;
}

HAE_COLUMNS_TARGET void hae_im2col_bf16(const float *input, long channels, long batch, long height, long width,
                                        long kernel, long stride, long padding, long out_h, long out_w, long first_row,
                                        long row_count, long first_pair, long pair_count, uint16_t *b) {
    const long rows = channels * kernel * kernel, panel_pairs = (rows + 1) / 2, count = row_count * out_w;
    const long plane = height * width, vectors = (count + 15) / 16;
    int32_t *words = (int32_t *)b;
    column_segment segments[HAE_IM2COL_SEGMENTS];
    int32_t first[33];
    for (long v0 = 0; v0 < vectors;) {
        const long built = column_segments(v0, vectors, count, first_row, out_h, out_w, stride, padding, width, kernel,
                                           segments, first);
        for (long q = first_pair; q < first_pair + pair_count;) {
            const window_row even = locate(input, 2 * q, rows, kernel, batch, plane);
            const window_row odd = locate(input, 2 * q + 1, rows, kernel, batch, plane);
            // Three pairs from depth 2q ≡ 0 (mod 6) on: two whole triples of kernel columns (gather_triple).
            const window_row second = locate(input, 2 * q + 3, rows, kernel, batch, plane);
            if (stride == 2 && kernel == 3 && even.channel && even.v == 0 && second.channel && second.v == 0
                && 2 * q + 6 <= rows && q + 3 <= first_pair + pair_count) {
                for (long v = 0; v < built; v++) {
                    const long t = 16 * (v0 + v), lanes = count - t < 16 ? count - t : 16;
                    __m512 c[6];
                    gather_triple(even, segments, first[v], first[v + 1], padding, height, width, c);
                    gather_triple(second, segments, first[v], first[v + 1], padding, height, width, c + 3);
                    for (long k = 0; k < 3; k++)
                        hae_bf16_store_columns(words, panel_pairs, q + k, t, lanes,
                                               hae_bf16_pair_words(c[2 * k], c[2 * k + 1]));
                }
                q += 3;
                continue;
            }
            for (long v = 0; v < built; v++) {
                const long t = 16 * (v0 + v);
                hae_bf16_store_columns(words, panel_pairs, q, t, count - t < 16 ? count - t : 16,
                                       hae_bf16_pair_words(
                                           gather(even, segments, first[v], first[v + 1], stride, padding, height, width),
                                           gather(odd, segments, first[v], first[v + 1], stride, padding, height, width)));
            }
            q++;
        }
        v0 += built;
    }
    for (long q = first_pair; q < first_pair + pair_count; q++) hae_bf16_zero_tail(words, panel_pairs, q, count);
}

HAE_F32_COLUMNS_TARGET void hae_im2col_f32(const float *input, long channels, long batch, long height, long width,
                                           long kernel, long stride, long padding, long out_h, long out_w,
                                           long first_row, long row_count, long first_depth, long depth_count,
                                           float *b) {
    const long rows = channels * kernel * kernel, count = row_count * out_w;
    const long plane = height * width, vectors = (count + 15) / 16;
    column_segment segments[HAE_IM2COL_SEGMENTS];
    int32_t first[33];
    for (long v0 = 0; v0 < vectors;) {
        const long built = column_segments(v0, vectors, count, first_row, out_h, out_w, stride, padding, width, kernel,
                                           segments, first);
        for (long d = first_depth; d < first_depth + depth_count;) {
            const window_row row = locate(input, d, rows, kernel, batch, plane);
            if (stride == 2 && kernel == 3 && row.channel && row.v == 0 && d + 3 <= first_depth + depth_count) {
                for (long v = 0; v < built; v++) {                   // kernel columns 0, 1, 2: depths d … d + 2
                    const long t = 16 * (v0 + v), lanes = count - t < 16 ? count - t : 16;
                    __m512 columns[3];
                    gather_triple(row, segments, first[v], first[v + 1], padding, height, width, columns);
                    for (long q = 0; q < 3; q++) hae_f32_store_columns(b, rows, d + q, t, lanes, columns[q]);
                }
                d += 3;
                continue;
            }
            for (long v = 0; v < built; v++) {
                const long t = 16 * (v0 + v);
                hae_f32_store_columns(b, rows, d, t, count - t < 16 ? count - t : 16,
                                      gather(row, segments, first[v], first[v + 1], stride, padding, height, width));
            }
            d++;
        }
        v0 += built;
    }
    for (long d = first_depth; d < first_depth + depth_count; d++) hae_f32_zero_tail(b, rows, d, count);
}

#else

void hae_im2col_f32(const float *input, long channels, long batch, long height, long width, long kernel, long stride,
                    long padding, long out_h, long out_w, long first_row, long row_count, long first_depth,
                    long depth_count, float *b) {
    (void)input; (void)channels; (void)batch; (void)height; (void)width; (void)kernel; (void)stride; (void)padding;
    (void)out_h; (void)out_w; (void)first_row; (void)row_count; (void)first_depth; (void)depth_count; (void)b;
}

void hae_im2col_bf16(const float *input, long channels, long batch, long height, long width, long kernel, long stride,
                     long padding, long out_h, long out_w, long first_row, long row_count, long first_pair,
                     long pair_count, uint16_t *b) {
    (void)input; (void)channels; (void)batch; (void)height; (void)width; (void)kernel; (void)stride; (void)padding;
    (void)out_h; (void)out_w; (void)first_row; (void)row_count; (void)first_pair; (void)pair_count; (void)b;
}

#endif
