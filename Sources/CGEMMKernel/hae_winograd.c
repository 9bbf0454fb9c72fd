// hae_winograd.c — see hae_winograd.h. Vectors run across 16 tiles of a run of tile rows (one image's rows of
// the chunk), t = k·tiles_wide + tx, on from one tile row into the next: on this model's narrow maps (5, 10 and 20
// tiles a row) a vector per tile row left a third to two thirds of its lanes idle. Masked where they meet V, M or
// the map.
#include "hae_winograd.h"

#include "hae_epilogue.h"
#include "hae_gemm_bf16.h"

/// Floats per (phase, j) row of the input transform's row transforms for a chunk of this geometry: the run's
/// (rows + 1)·tiles_wide positions and a spare vector, rounded to whole vectors.
static long row_span(const hae_winograd_geometry *g) { return ((g->row_count + 1) * g->tiles_wide + 31) / 16 * 16; }

/// Most segments of a run of a chunk of this geometry (see row_segment): one per vector plus one per tile row a
/// vector starts in the middle of.
static long most_segments(const hae_winograd_geometry *g) {
    return ((g->row_count + 1) * g->tiles_wide + 15) / 16 + g->row_count + 2;
}

/// Floats per (q, j) row of the output transform's (Aᵀ M) for a chunk of this geometry: its tiles, rounded to
/// whole vectors.
static long output_span(const hae_winograd_geometry *g) { return (g->row_count * g->tiles_wide + 15) / 16 * 16; }

/// Floats of scratch one row_segment takes (checked where it is defined).
#define HAE_SEGMENT_FLOATS 8

long hae_winograd_scratch_count(const hae_winograd_geometry *g) {
    // Input: two channels' row transforms of a run, (4, 6, row_span) each, and the run's segments. Output: (4, 6,
    // output_span) of Aᵀ M and one output line (4·output_span + 16). Plus 16 for alignment.
    const long input = 2 * 24 * row_span(g) + HAE_SEGMENT_FLOATS * most_segments(g)
                     + ((g->row_count + 1) * g->tiles_wide + 15) / 16 + 1;      // + the vectors' first segments
    const long output = 4 * 6 * output_span(g) + 4 * output_span(g) + 16;
    return (input > output ? input : output) + 16;
}

#if defined(__x86_64__)
#include <immintrin.h>

#include "hae_bf16_columns.h"

int hae_winograd_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

#define HAE_W_TARGET __attribute__((target("avx512f")))
#define HAE_W_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

/// `Bᵀ x` for the six values x0…x5 along one side of a 6×6 input patch (Winograd.swift's inputTransform).
#define INPUT_TRANSFORM(x0, x1, x2, x3, x4, x5, y)                                                         \
    {                                                                                                      \
        const __m512 four = _mm512_set1_ps(4), five = _mm512_set1_ps(5), two = _mm512_set1_ps(2);          \
        y[0] = _mm512_add_ps(_mm512_fnmadd_ps(five, x2, _mm512_mul_ps(four, x0)), x4);                      \
        y[1] = _mm512_fnmadd_ps(four, _mm512_add_ps(x1, x2), _mm512_add_ps(x3, x4));                        \
        y[2] = _mm512_sub_ps(_mm512_fmadd_ps(four, _mm512_sub_ps(x1, x2), x4), x3);                         \
        y[3] = _mm512_sub_ps(_mm512_fmadd_ps(two, _mm512_sub_ps(x3, x1), x4), x2);                          \
        y[4] = _mm512_sub_ps(_mm512_fmadd_ps(two, _mm512_sub_ps(x1, x3), x4), x2);                          \
        y[5] = _mm512_add_ps(_mm512_fnmadd_ps(five, x3, _mm512_mul_ps(four, x1)), x5);                      \
    }

/// `Aᵀ m` for the six values m0…m5 along one side of a 6×6 product tile: its four outputs (outputTransform).
#define OUTPUT_TRANSFORM(m0, m1, m2, m3, m4, m5, o)                                                        \
    {                                                                                                      \
        const __m512 s12 = _mm512_add_ps(m1, m2), d12 = _mm512_sub_ps(m1, m2);                             \
        const __m512 s34 = _mm512_add_ps(m3, m4), d34 = _mm512_sub_ps(m3, m4);                             \
        o[0] = _mm512_add_ps(_mm512_add_ps(m0, s12), s34);                                                 \
        o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2), d34, d12);                                               \
        o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4), s34, s12);                                               \
        o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8), d34, d12), m5);                             \
    }


/// Where the lanes of one vector of transform_rows read: a tile row's run of lanes within the vector. Lane
/// positions m (0 … 63) of z hold columns `column + m` of row 4(ty0 + q) − 1 + ph (s: `column + 4 + m`), under
/// the masks (only the segment's lanes, only columns inside the map). Depends on the run's shape, not on the
/// channel or phase: built once per run (row_segments).
typedef struct {
    int32_t q, column;
    __mmask16 z[4], s[4];
} row_segment;
_Static_assert(sizeof(row_segment) <= HAE_SEGMENT_FLOATS * sizeof(float), "row_segment fits its scratch");

/// The segments of every vector of a run of `rows` (+ 1) tile rows `tw` tiles wide on a map `width` wide into
/// `segments`; vector k's are first[k] … first[k + 1] − 1. Returns the vectors.
HAE_W_TARGET static long row_segments(long rows, long tw, long width, row_segment *segments, int32_t *first) {
    const long count = (rows + 1) * tw, vectors = (count + 15) / 16;
    long k = 0;
    for (long v = 0; v < vectors; v++) {
        first[v] = (int32_t)k;
        const long t0 = 16 * v, end = count - t0 < 16 ? count : t0 + 16;
        long q = t0 / tw, tx = t0 - q * tw;
        for (long t = t0; t < end; q++, tx = 0) {
            const long stop = t + (tw - tx) < end ? t + (tw - tx) : end;
            const long lo = 4 * (t - t0), hi = 4 * (stop - t0);       // the segment's positions in z and s
            // Position m reads column 4tx − 1 + (m − lo) (z) or that + 4 (s); inside 0 … width − 1 only.
            const long column = 4 * tx - 1 - lo;
            const long zlo = -column > lo ? -column : lo, zhi = width - column < hi ? width - column : hi;
            const long slo = -column - 4 > lo ? -column - 4 : lo, shi = width - column - 4 < hi ? width - column - 4 : hi;
            row_segment *segment = segments + k++;
            segment->q = (int32_t)q;
            segment->column = (int32_t)column;
            for (long r = 0; r < 4; r++) {
                segment->z[r] = zlo < zhi ? hae_first_lanes(zhi - 16 * r) & ~hae_first_lanes(zlo - 16 * r) : 0;
                segment->s[r] = slo < shi ? hae_first_lanes(shi - 16 * r) & ~hae_first_lanes(slo - 16 * r) : 0;
            }
            t = stop;
        }
    }
    first[vectors] = (int32_t)k;
    return vectors;
}

/// The row transforms of one run of tile rows ty0 … ty0 + rows − 1 of one image (`plane`), compacted across
/// tile rows: h[(ph·6 + j)·span + (q − ty0)·tw + tx] = (Bᵀ x)[j] for x = row 4q − 1 + ph, columns 4tx − 1 …
/// 4tx + 4 (zeros outside the map), phases ph 0…3, q = ty0 … ty0 + rows. Row 4ty − 1 + a of a tile row is phase
/// a of q = ty for a < 4 and phase a − 4 of q = ty + 1 for a = 4, 5, so the vertical step reads all six
/// contiguously over the run's tiles.
///
/// Why compact: a vector of 16 lanes across one tile row left 11 of 16 lanes idle on fuse1's 5-tile rows and 6 on
/// fuse2's 10; here a vector's lanes run on into the next tile rows. Lane i's six inputs are gathered as before
/// (two VPERMT2PS per value from 64 floats z and 64 floats s = the same columns + 4), z and s assembled by masked
/// loads per tile row the lanes touch (`segments`; a masked load reads nothing outside its lanes).
HAE_W_TARGET static void transform_rows(const float *plane, long height, long width, long ty0, long vectors,
                                        const row_segment *segments, const int32_t *first, float *h, long span) {
    const __m512i base = _mm512_set_epi32(60, 56, 52, 48, 44, 40, 36, 32, 28, 24, 20, 16, 12, 8, 4, 0);
    const __m512i mod = _mm512_set1_epi32(31);
    const __m512i index0 = _mm512_and_si512(base, mod);
    const __m512i index1 = _mm512_and_si512(_mm512_add_epi32(base, _mm512_set1_epi32(1)), mod);
    const __m512i index2 = _mm512_and_si512(_mm512_add_epi32(base, _mm512_set1_epi32(2)), mod);
    const __m512i index3 = _mm512_and_si512(_mm512_add_epi32(base, _mm512_set1_epi32(3)), mod);
#define GATHER(v, index) \
    _mm512_mask_blend_ps(0xFF00, _mm512_permutex2var_ps(v##0, index, v##1), _mm512_permutex2var_ps(v##2, index, v##3))
    for (long ph = 0; ph < 4; ph++) {
        float *out = h + ph * 6 * span;
        for (long v = 0; v < vectors; v++) {
            __m512 z0 = _mm512_setzero_ps(), z1 = z0, z2 = z0, z3 = z0, s0 = z0, s1 = z0, s2 = z0, s3 = z0;
            for (long k = first[v]; k < first[v + 1]; k++) {
                const row_segment *segment = segments + k;
                const long y = 4 * (ty0 + segment->q) - 1 + ph;
                if (y < 0 || y >= height) continue;                    // rows outside the map: zeros
                const float *at = plane + y * width + segment->column;
                z0 = _mm512_mask_loadu_ps(z0, segment->z[0], at);
                z1 = _mm512_mask_loadu_ps(z1, segment->z[1], at + 16);
                z2 = _mm512_mask_loadu_ps(z2, segment->z[2], at + 32);
                z3 = _mm512_mask_loadu_ps(z3, segment->z[3], at + 48);
                s0 = _mm512_mask_loadu_ps(s0, segment->s[0], at + 4);
                s1 = _mm512_mask_loadu_ps(s1, segment->s[1], at + 20);
                s2 = _mm512_mask_loadu_ps(s2, segment->s[2], at + 36);
                s3 = _mm512_mask_loadu_ps(s3, segment->s[3], at + 52);
            }
            const __m512 x0 = GATHER(z, index0), x1 = GATHER(z, index1), x2 = GATHER(z, index2);
            const __m512 x3 = GATHER(z, index3), x4 = GATHER(s, index0), x5 = GATHER(s, index1);
            __m512 y[6];
            INPUT_TRANSFORM(x0, x1, x2, x3, x4, x5, y)
            for (int j = 0; j < 6; j++) _mm512_storeu_ps(out + j * span + 16 * v, y[j]);
        }
    }
#undef GATHER
}

/// `Bᵀ (d B)` down tile j's column of the run's tiles t … t + 15: the six outputs i → ξ = 6i + j.
#define VERTICAL(h, span, tw, j, t, y)                                                                     \
    {                                                                                                      \
        const __m512 x0 = _mm512_loadu_ps((h) + (0 * 6 + (j)) * (span) + (t));                           \
        const __m512 x1 = _mm512_loadu_ps((h) + (1 * 6 + (j)) * (span) + (t));                           \
        const __m512 x2 = _mm512_loadu_ps((h) + (2 * 6 + (j)) * (span) + (t));                           \
        const __m512 x3 = _mm512_loadu_ps((h) + (3 * 6 + (j)) * (span) + (t));                           \
        const __m512 x4 = _mm512_loadu_ps((h) + (0 * 6 + (j)) * (span) + (t) + (tw));                    \
        const __m512 x5 = _mm512_loadu_ps((h) + (1 * 6 + (j)) * (span) + (t) + (tw));                    \
        INPUT_TRANSFORM(x0, x1, x2, x3, x4, x5, y)                                                         \
    }


/// The next run of the chunk's tile rows from r: those of one image. Sets *n, *ty0 and returns the run's length.
static long next_run(const hae_winograd_geometry *g, long r, long *n, long *ty0) {
    const long global = g->first_row + r;
    *n = global / g->tiles_high;
    *ty0 = global - *n * g->tiles_high;
    const long left = g->tiles_high - *ty0, rest = g->row_count - r;
    return left < rest ? left : rest;
}

/// 64-byte aligned scratch: Swift's buffers are 16-byte aligned.
static float *aligned(float *p) { return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/// The transform's scratch: the row transforms (two channels' (4, 6, span)), then the run's segments.
typedef struct {
    float *even, *odd;
    row_segment *segments;
    int32_t *first;
} input_scratch;

static input_scratch carve(float *scratch, const hae_winograd_geometry *g) {
    const long span = row_span(g);
    input_scratch parts;
    parts.even = aligned(scratch);
    parts.odd = parts.even + 24 * span;
    parts.segments = (row_segment *)(void *)(parts.odd + 24 * span);
    parts.first = (int32_t *)((float *)parts.segments + HAE_SEGMENT_FLOATS * most_segments(g));
    return parts;
}

/// One run of a chunk (its tile rows of one image) with its segments built in the scratch: chunk tile rows
/// first … first + rows − 1 are image n's tile rows ty0 … ty0 + rows − 1.
typedef struct {
    long first, rows, n, ty0, vectors;
} input_run;

static input_run begin_run(const hae_winograd_geometry *g, long first, const input_scratch *parts) {
    input_run run = {.first = first};
    run.rows = next_run(g, first, &run.n, &run.ty0);
    run.vectors = row_segments(run.rows, g->tiles_wide, g->width, parts->segments, parts->first);
    return run;
}

/// transform_rows for one channel (`channel`: its (N, H, W)) over the run, into `h` (one of the scratch's two).
HAE_W_TARGET static void transform_run(const float *channel, const hae_winograd_geometry *g, const input_run *run,
                                       const input_scratch *parts, float *h) {
    transform_rows(channel + run->n * g->height * g->width, g->height, g->width, run->ty0, run->vectors,
                   parts->segments, parts->first, h, row_span(g));
}

HAE_W_TARGET void hae_winograd_input_f32(const float *input, long first_channel, long channel_count,
                                         const hae_winograd_geometry *g, float *v, long stride, float *scratch) {
    const long plane = g->height * g->width, tw = g->tiles_wide, span = row_span(g);
    const input_scratch parts = carve(scratch, g);
    for (long r = 0; r < g->row_count;) {
        const input_run run = begin_run(g, r, &parts);
        const long count = run.rows * tw;
        for (long c = first_channel; c < first_channel + channel_count; c++) {
            transform_run(input + c * g->batch * plane, g, &run, &parts, parts.even);
            for (long t = 0; t < count; t += 16) {
                const __mmask16 valid = hae_first_lanes(count - t);
                float *target = v + c * stride + r * tw + t;
                for (long j = 0; j < 6; j++) {
                    __m512 y[6];
                    VERTICAL(parts.even, span, tw, j, t, y)
                    for (long i = 0; i < 6; i++)
                        _mm512_mask_storeu_ps(target + (6 * i + j) * g->channels * stride, valid, y[i]);
                }
            }
        }
        r += run.rows;
    }
}

HAE_W_BF16_TARGET void hae_winograd_input_bf16(const float *input, long first_pair, long pair_count,
                                               const hae_winograd_geometry *g, uint16_t *b, float *scratch) {
    const long plane = g->height * g->width, tw = g->tiles_wide, span = row_span(g);
    const long count = g->row_count * tw, pairs = g->channels / 2;
    const long xi_stride = hae_gemm_bf16_packed_b_count(count, g->channels) / 2;   // in 32-bit words
    int32_t *words = (int32_t *)b;
    const input_scratch parts = carve(scratch, g);
    for (long r = 0; r < g->row_count;) {
        const input_run run = begin_run(g, r, &parts);
        const long tiles = run.rows * tw;
        for (long p = first_pair; p < first_pair + pair_count; p++) {
            const float *channel = input + 2 * p * g->batch * plane;
            transform_run(channel, g, &run, &parts, parts.even);
            transform_run(channel + g->batch * plane, g, &run, &parts, parts.odd);
            for (long t = 0; t < tiles; t += 16) {
                const long valid = tiles - t < 16 ? tiles - t : 16;
                for (long j = 0; j < 6; j++) {
                    __m512 y[6], z[6];
                    VERTICAL(parts.even, span, tw, j, t, y)
                    VERTICAL(parts.odd, span, tw, j, t, z)
                    for (long i = 0; i < 6; i++)
                        hae_bf16_store_columns(words + (6 * i + j) * xi_stride, pairs, p, r * tw + t, valid,
                                               hae_bf16_pair_words(y[i], z[i]));
                }
            }
        }
        r += run.rows;
    }
    for (long p = first_pair; p < first_pair + pair_count; p++)
        for (long xi = 0; xi < 36; xi++) hae_bf16_zero_tail(words + xi * xi_stride, pairs, p, count);
}

HAE_W_TARGET void hae_winograd_output(const float *m, long first_channel, long channel_count, long stride,
                                      const hae_winograd_geometry *g, const float *bias, int activation,
                                      float *output, float *scratch) {
    const long plane = g->height * g->width, tw = g->tiles_wide, span = output_span(g);
    const long xi_stride = g->channels * stride;
    float *s = aligned(scratch), *line = s + 24 * span;                 // s: (4, 6, span) = (Aᵀ M)[q, j]
    // Output row q of 16 tiles: R_w lane l = o_(l mod 4)[4w + ⌊l/4⌋] — two rounds of VPERMT2PS.
    const __m512i pairs_low = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i pairs_high = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __m512i quads_low = _mm512_set_epi32(23, 22, 7, 6, 21, 20, 5, 4, 19, 18, 3, 2, 17, 16, 1, 0);
    const __m512i quads_high = _mm512_set_epi32(31, 30, 15, 14, 29, 28, 13, 12, 27, 26, 11, 10, 25, 24, 9, 8);
    for (long co = first_channel; co < first_channel + channel_count; co++) {
        const float add = bias ? bias[co] : 0;
        long n, ty0;
        for (long r = 0, rows; r < g->row_count; r += rows) {           // runs of one image's tile rows
            rows = next_run(g, r, &n, &ty0);
            // Vectors run across the run's tiles t = k·tw + tx, on from one tile row into the next (as in the input
            // transform: narrow rows would leave most lanes idle).
            const long count = rows * tw;
            const float *source = m + co * stride + r * tw;
            for (long j = 0; j < 6; j++)                                 // Aᵀ down the tile, column position j
                for (long t = 0; t < count; t += 16) {
                    const __mmask16 valid = hae_first_lanes(count - t);
                    const float *at = source + j * xi_stride + t;
                    const __m512 m0 = _mm512_maskz_loadu_ps(valid, at);
                    const __m512 m1 = _mm512_maskz_loadu_ps(valid, at + 6 * xi_stride);
                    const __m512 m2 = _mm512_maskz_loadu_ps(valid, at + 12 * xi_stride);
                    const __m512 m3 = _mm512_maskz_loadu_ps(valid, at + 18 * xi_stride);
                    const __m512 m4 = _mm512_maskz_loadu_ps(valid, at + 24 * xi_stride);
                    const __m512 m5 = _mm512_maskz_loadu_ps(valid, at + 30 * xi_stride);
                    __m512 o[4];
                    OUTPUT_TRANSFORM(m0, m1, m2, m3, m4, m5, o)
                    for (long q = 0; q < 4; q++) _mm512_storeu_ps(s + (q * 6 + j) * span + t, o[q]);
                }
            for (long q = 0; q < 4; q++) {                               // · A along the tile, output rows 4ty + q
                const float *row = s + q * 6 * span;
                for (long t = 0; t < count; t += 16) {
                    __m512 o[4];
                    OUTPUT_TRANSFORM(_mm512_loadu_ps(row + t), _mm512_loadu_ps(row + span + t),
                                     _mm512_loadu_ps(row + 2 * span + t), _mm512_loadu_ps(row + 3 * span + t),
                                     _mm512_loadu_ps(row + 4 * span + t), _mm512_loadu_ps(row + 5 * span + t), o)
                    const __m512 a = _mm512_permutex2var_ps(o[0], pairs_low, o[1]);     // o0[i] o1[i], i < 8
                    const __m512 b = _mm512_permutex2var_ps(o[2], pairs_low, o[3]);
                    const __m512 c = _mm512_permutex2var_ps(o[0], pairs_high, o[1]);    // i ≥ 8
                    const __m512 d = _mm512_permutex2var_ps(o[2], pairs_high, o[3]);
                    float *out = line + 4 * t;                           // line: tile t's four values at 4t
                    _mm512_storeu_ps(out, _mm512_permutex2var_ps(a, quads_low, b));
                    _mm512_storeu_ps(out + 16, _mm512_permutex2var_ps(a, quads_high, b));
                    _mm512_storeu_ps(out + 32, _mm512_permutex2var_ps(c, quads_low, d));
                    _mm512_storeu_ps(out + 48, _mm512_permutex2var_ps(c, quads_high, d));
                }
                float *image = output + (co * g->batch + n) * plane;
                for (long k = 0; k < rows; k++) {                        // tile row k's W values of row 4ty + q
                    const long y = 4 * (ty0 + k) + q;
                    if (y < g->height)
                        hae_epilogue_apply(activation, line + 4 * k * tw, image + y * g->width, g->width, add);
                }
            }
        }
    }
}

#else  // not x86-64: never available; callers use the Swift transforms.

int hae_winograd_available(void) { return 0; }
void hae_winograd_input_f32(const float *input, long first_channel, long channel_count,
                            const hae_winograd_geometry *geometry, float *v, long stride, float *scratch) {
    (void)input; (void)first_channel; (void)channel_count; (void)geometry; (void)v; (void)stride; (void)scratch;
}
void hae_winograd_input_bf16(const float *input, long first_pair, long pair_count,
                             const hae_winograd_geometry *geometry, uint16_t *b, float *scratch) {
    (void)input; (void)first_pair; (void)pair_count; (void)geometry; (void)b; (void)scratch;
}
void hae_winograd_output(const float *m, long first_channel, long channel_count, long stride,
                         const hae_winograd_geometry *geometry, const float *bias, int activation,
                         float *output, float *scratch) {
    (void)m; (void)first_channel; (void)channel_count; (void)stride; (void)geometry; (void)bias; (void)activation;
    (void)output; (void)scratch;
}

#endif
