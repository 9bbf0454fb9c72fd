// hae_winograd.c — see hae_winograd.h. Vectors run across 16 tiles of one tile row; a row of W columns has
// ⌈W/4⌉ tiles, padded to whole vectors (`lanes` below) in the scratch rows, masked where they meet V, M or the map.
#include "hae_winograd.h"

#include "hae_epilogue.h"
#include "hae_gemm_bf16.h"

/// Tiles of a row rounded up to whole 16-tile vectors.
static long padded_tiles(const hae_winograd_geometry *g) { return (g->tiles_wide + 15) / 16 * 16; }

long hae_winograd_scratch_count(const hae_winograd_geometry *g) {
    const long lanes = padded_tiles(g);
    // Input: six slots of (6, lanes) per channel of a pair. Output: (4, 6, lanes) of Aᵀ M and one output row
    // (4·lanes + 16). Plus 16 for alignment.
    const long input = 2 * 6 * 6 * lanes;
    const long output = 4 * 6 * lanes + 4 * lanes + 16;
    return (input > output ? input : output) + 16;
}

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

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


/// `d B` along one input row: h[j·lanes + tx] = (Bᵀ x)[j] for x = row[4tx − 1 … 4tx + 4] (zeros outside
/// 0 … width − 1), every tile tx < lanes. `row` NULL: a row outside the map (all zero). Reads the row through
/// masked loads (no padded copy: a copy's narrow stores stalled the wide loads that followed, store forwarding).
HAE_W_TARGET static void transform_row(const float *row, long width, long lanes, float *h) {
    if (!row) {
        for (long j = 0; j < 6 * lanes; j += 16) _mm512_storeu_ps(h + j, _mm512_setzero_ps());
        return;
    }
    // Lane i of a tile vector takes e[4i + k] (e[x] = row[x − 1]): lanes 0–7 from the first 32 floats, 8–15 from
    // the next 32 (same index mod 32), joined by one blend.
    const __m512i base = _mm512_set_epi32(60, 56, 52, 48, 44, 40, 36, 32, 28, 24, 20, 16, 12, 8, 4, 0);
    const __m512i mod = _mm512_set1_epi32(31);
    const __m512i index0 = _mm512_and_si512(base, mod);
    const __m512i index1 = _mm512_and_si512(_mm512_add_epi32(base, _mm512_set1_epi32(1)), mod);
    const __m512i index2 = _mm512_and_si512(_mm512_add_epi32(base, _mm512_set1_epi32(2)), mod);
    const __m512i index3 = _mm512_and_si512(_mm512_add_epi32(base, _mm512_set1_epi32(3)), mod);
#define ROW_LOAD(offset) _mm512_maskz_loadu_ps(hae_lanes_inside(64 * v + (offset) - 1, width), row + 64 * v + (offset) - 1)
#define GATHER(a, b, c, d, index) \
    _mm512_mask_blend_ps(0xFF00, _mm512_permutex2var_ps(a, index, b), _mm512_permutex2var_ps(c, index, d))
    for (long v = 0; v < lanes / 16; v++) {
        const __m512 z0 = ROW_LOAD(0), z1 = ROW_LOAD(16), z2 = ROW_LOAD(32), z3 = ROW_LOAD(48);
        const __m512 s0 = ROW_LOAD(4), s1 = ROW_LOAD(20), s2 = ROW_LOAD(36), s3 = ROW_LOAD(52);
        const __m512 x0 = GATHER(z0, z1, z2, z3, index0), x1 = GATHER(z0, z1, z2, z3, index1);
        const __m512 x2 = GATHER(z0, z1, z2, z3, index2), x3 = GATHER(z0, z1, z2, z3, index3);
        const __m512 x4 = GATHER(s0, s1, s2, s3, index0), x5 = GATHER(s0, s1, s2, s3, index1);  // e[4i + 4], e[4i + 5]
        __m512 y[6];
        INPUT_TRANSFORM(x0, x1, x2, x3, x4, x5, y)
        for (int j = 0; j < 6; j++) _mm512_storeu_ps(h + j * lanes + 16 * v, y[j]);
    }
#undef ROW_LOAD
#undef GATHER
}

/// Keeps the six row transforms of a tile row in `slot[0…5]` (each (6, lanes)), reusing the last two of the tile
/// row above (rows 4ty + 3 and 4ty + 4 are its rows 4 and 5) when it is the same image.
typedef struct {
    float *slot[6];
    long image, tile_row;                                               // what the slots hold; −1: nothing
} row_cache;

HAE_W_TARGET static void load_tile_row(row_cache *cache, const float *channel, const hae_winograd_geometry *g,
                                       long n, long ty, long lanes) {
    const long plane = g->height * g->width;
    long first = 0;
    if (cache->image == n && cache->tile_row == ty - 1) {
        float *old[6];
        memcpy(old, cache->slot, sizeof old);
        cache->slot[0] = old[4]; cache->slot[1] = old[5];
        cache->slot[2] = old[0]; cache->slot[3] = old[1]; cache->slot[4] = old[2]; cache->slot[5] = old[3];
        first = 2;
    }
    for (long a = first; a < 6; a++) {
        const long y = 4 * ty - 1 + a;
        transform_row(y >= 0 && y < g->height ? channel + n * plane + y * g->width : NULL, g->width, lanes,
                      cache->slot[a]);
    }
    cache->image = n;
    cache->tile_row = ty;
}

/// `Bᵀ (d B)` down the tile row: for row j of the slots, the six outputs i → ξ = 6i + j, lanes 16v … 16v + 15.
#define VERTICAL(cache, j, v, lanes, y)                                                                    \
    {                                                                                                      \
        const long at = (j) * (lanes) + 16 * (v);                                                          \
        const __m512 x0 = _mm512_loadu_ps((cache).slot[0] + at), x1 = _mm512_loadu_ps((cache).slot[1] + at); \
        const __m512 x2 = _mm512_loadu_ps((cache).slot[2] + at), x3 = _mm512_loadu_ps((cache).slot[3] + at); \
        const __m512 x4 = _mm512_loadu_ps((cache).slot[4] + at), x5 = _mm512_loadu_ps((cache).slot[5] + at); \
        INPUT_TRANSFORM(x0, x1, x2, x3, x4, x5, y)                                                         \
    }

static void init_cache(row_cache *cache, float *slots, long lanes) {
    for (int a = 0; a < 6; a++) cache->slot[a] = slots + a * 6 * lanes;
    cache->image = -1;
    cache->tile_row = -1;
}

/// 64-byte aligned scratch: Swift's buffers are 16-byte aligned.
static float *aligned(float *p) { return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

HAE_W_TARGET void hae_winograd_input_f32(const float *input, long first_channel, long channel_count,
                                         const hae_winograd_geometry *g, float *v, long stride, float *scratch) {
    const long lanes = padded_tiles(g), plane = g->height * g->width;
    float *slots = aligned(scratch);
    row_cache cache;
    for (long c = first_channel; c < first_channel + channel_count; c++) {
        const float *channel = input + c * g->batch * plane;
        init_cache(&cache, slots, lanes);
        for (long r = 0; r < g->row_count; r++) {
            const long global = g->first_row + r, n = global / g->tiles_high, ty = global - n * g->tiles_high;
            load_tile_row(&cache, channel, g, n, ty, lanes);
            for (long j = 0; j < 6; j++)
                for (long vec = 0; vec < lanes / 16; vec++) {
                    __m512 y[6];
                    VERTICAL(cache, j, vec, lanes, y)
                    const __mmask16 valid = hae_first_lanes(g->tiles_wide - 16 * vec);
                    float *target = v + c * stride + r * g->tiles_wide + 16 * vec;
                    for (long i = 0; i < 6; i++)
                        _mm512_mask_storeu_ps(target + (6 * i + j) * g->channels * stride, valid, y[i]);
                }
        }
    }
}

HAE_W_BF16_TARGET void hae_winograd_input_bf16(const float *input, long first_pair, long pair_count,
                                               const hae_winograd_geometry *g, uint16_t *b, float *scratch) {
    const long lanes = padded_tiles(g), plane = g->height * g->width;
    const long count = g->row_count * g->tiles_wide, pairs = g->channels / 2;
    const long xi_stride = hae_gemm_bf16_packed_b_count(count, g->channels) / 2;   // in 32-bit words
    int32_t *words = (int32_t *)b;
    float *slots = aligned(scratch);
    row_cache even, odd;
    for (long p = first_pair; p < first_pair + pair_count; p++) {
        const float *channel = input + 2 * p * g->batch * plane;
        init_cache(&even, slots, lanes);
        init_cache(&odd, slots + 36 * lanes, lanes);
        for (long r = 0; r < g->row_count; r++) {
            const long global = g->first_row + r, n = global / g->tiles_high, ty = global - n * g->tiles_high;
            load_tile_row(&even, channel, g, n, ty, lanes);
            load_tile_row(&odd, channel + g->batch * plane, g, n, ty, lanes);
            for (long j = 0; j < 6; j++)
                for (long vec = 0; vec < lanes / 16; vec++) {
                    __m512 y[6], z[6];
                    VERTICAL(even, j, vec, lanes, y)
                    VERTICAL(odd, j, vec, lanes, z)
                    const long t = r * g->tiles_wide + 16 * vec, valid = g->tiles_wide - 16 * vec;
                    for (long i = 0; i < 6; i++)
                        hae_bf16_store_columns(words + (6 * i + j) * xi_stride, pairs, p, t, valid < 16 ? valid : 16,
                                               hae_bf16_pair_words(y[i], z[i]));
                }
        }
        for (long xi = 0; xi < 36; xi++) hae_bf16_zero_tail(words + xi * xi_stride, pairs, p, count);
    }
}

HAE_W_TARGET void hae_winograd_output(const float *m, long first_channel, long channel_count, long stride,
                                      const hae_winograd_geometry *g, const float *bias, int activation,
                                      float *output, float *scratch) {
    const long lanes = padded_tiles(g), plane = g->height * g->width;
    float *s = aligned(scratch), *line = s + 24 * lanes;                // s: (4, 6, lanes) = (Aᵀ M)[q, j]
    // Output row q of 16 tiles: R_w lane l = o_(l mod 4)[4w + ⌊l/4⌋] — two rounds of VPERMT2PS.
    const __m512i pairs_low = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i pairs_high = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __m512i quads_low = _mm512_set_epi32(23, 22, 7, 6, 21, 20, 5, 4, 19, 18, 3, 2, 17, 16, 1, 0);
    const __m512i quads_high = _mm512_set_epi32(31, 30, 15, 14, 29, 28, 13, 12, 27, 26, 11, 10, 25, 24, 9, 8);
    for (long co = first_channel; co < first_channel + channel_count; co++) {
        const float add = bias ? bias[co] : 0;
        for (long r = 0; r < g->row_count; r++) {
            const long global = g->first_row + r, n = global / g->tiles_high, ty = global - n * g->tiles_high;
            const float *source = m + co * stride + r * g->tiles_wide;
            const long xi_stride = g->channels * stride;
            for (long j = 0; j < 6; j++)                                 // Aᵀ down the tile, column position j
                for (long vec = 0; vec < lanes / 16; vec++) {
                    const __mmask16 valid = hae_first_lanes(g->tiles_wide - 16 * vec);
                    const float *at = source + j * xi_stride + 16 * vec;
                    const __m512 m0 = _mm512_maskz_loadu_ps(valid, at);
                    const __m512 m1 = _mm512_maskz_loadu_ps(valid, at + 6 * xi_stride);
                    const __m512 m2 = _mm512_maskz_loadu_ps(valid, at + 12 * xi_stride);
                    const __m512 m3 = _mm512_maskz_loadu_ps(valid, at + 18 * xi_stride);
                    const __m512 m4 = _mm512_maskz_loadu_ps(valid, at + 24 * xi_stride);
                    const __m512 m5 = _mm512_maskz_loadu_ps(valid, at + 30 * xi_stride);
                    __m512 o[4];
                    OUTPUT_TRANSFORM(m0, m1, m2, m3, m4, m5, o)
                    for (long q = 0; q < 4; q++) _mm512_storeu_ps(s + (q * 6 + j) * lanes + 16 * vec, o[q]);
                }
            float *image = output + (co * g->batch + n) * plane;
            for (long q = 0; q < 4; q++) {                               // · A along the tile, output row 4ty + q
                const long y = 4 * ty + q;
                if (y >= g->height) break;
                const float *row = s + q * 6 * lanes;
                for (long vec = 0; vec < lanes / 16; vec++) {
                    const long at = 16 * vec;
                    __m512 o[4];
                    OUTPUT_TRANSFORM(_mm512_loadu_ps(row + at), _mm512_loadu_ps(row + lanes + at),
                                     _mm512_loadu_ps(row + 2 * lanes + at), _mm512_loadu_ps(row + 3 * lanes + at),
                                     _mm512_loadu_ps(row + 4 * lanes + at), _mm512_loadu_ps(row + 5 * lanes + at), o)
                    const __m512 a = _mm512_permutex2var_ps(o[0], pairs_low, o[1]);     // o0[i] o1[i], i < 8
                    const __m512 b = _mm512_permutex2var_ps(o[2], pairs_low, o[3]);
                    const __m512 c = _mm512_permutex2var_ps(o[0], pairs_high, o[1]);    // i ≥ 8
                    const __m512 d = _mm512_permutex2var_ps(o[2], pairs_high, o[3]);
                    float *out = line + 64 * vec;
                    _mm512_storeu_ps(out, _mm512_permutex2var_ps(a, quads_low, b));
                    _mm512_storeu_ps(out + 16, _mm512_permutex2var_ps(a, quads_high, b));
                    _mm512_storeu_ps(out + 32, _mm512_permutex2var_ps(c, quads_low, d));
                    _mm512_storeu_ps(out + 48, _mm512_permutex2var_ps(c, quads_high, d));
                }
                hae_epilogue_apply(activation, line, image + y * g->width, g->width, add);
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
