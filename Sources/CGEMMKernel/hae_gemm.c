// hae_gemm.c — see hae_gemm.h. One 8 × 32 AVX-512 micro-kernel (16 accumulators: per k, two loads of B, eight
// broadcasts of A, sixteen FMAs), an 8 × 16 one for the last ≤ 16 columns, and masks for the ragged edge.
// (An 8 × 48 kernel with 24 accumulators measured level with it on this model's shapes, 0.997–1.03×.)
#include "hae_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "hae_lanes.h"
#include <pthread.h>
#include <stdlib.h>

/// Depth of one block of k: an A panel (KC × 8, 8 KB) stays in L1 while it sweeps the block's column tiles.
#define HAE_GEMM_KC 256

int hae_gemm_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

#define HAE_TARGET __attribute__((target("avx512f,fma")))

// One row r of the 8 × 32 tile: c[r][0..31] += a[r] · b[0..31].
#define HAE_ROW2(r) { const __m512 s = _mm512_set1_ps(a[r]); \
    c##r##0 = _mm512_fmadd_ps(s, b0, c##r##0); c##r##1 = _mm512_fmadd_ps(s, b1, c##r##1); }
#define HAE_STORE2(r) { float *q = c + (r) * ldc; \
    if (accumulate) { c##r##0 = _mm512_add_ps(c##r##0, _mm512_maskz_loadu_ps(m0, q)); \
                      c##r##1 = _mm512_add_ps(c##r##1, _mm512_maskz_loadu_ps(m1, q + 16)); } \
    _mm512_mask_storeu_ps(q, m0, c##r##0); _mm512_mask_storeu_ps(q + 16, m1, c##r##1); }

/// C (8 × ≤32, ldc) (+)= A panel (kc × 8) · B panel (kc × 32); m0/m1 mask the columns 0–15 and 16–31; `next`: see
/// HAE_PREFETCH_NEXT_PANEL (hae_lanes.h).
HAE_TARGET static inline void kernel_8x32(long kc, const float *a, const float *b, float *c, long ldc,
                                          int accumulate, __mmask16 m0, __mmask16 m1, const char *next) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (long k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        HAE_ROW2(0) HAE_ROW2(1) HAE_ROW2(2) HAE_ROW2(3) HAE_ROW2(4) HAE_ROW2(5) HAE_ROW2(6) HAE_ROW2(7)
        HAE_PREFETCH_NEXT_PANEL(k, next)
        a += HAE_GEMM_MR;
        b += 32;
    }
    HAE_STORE2(0) HAE_STORE2(1) HAE_STORE2(2) HAE_STORE2(3) HAE_STORE2(4) HAE_STORE2(5) HAE_STORE2(6) HAE_STORE2(7)
}

#define HAE_ROW1(r) { c##r = _mm512_fmadd_ps(_mm512_set1_ps(a[r]), b0, c##r); }
#define HAE_STORE1(r) { float *q = c + (r) * ldc; \
    if (accumulate) c##r = _mm512_add_ps(c##r, _mm512_maskz_loadu_ps(m0, q)); \
    _mm512_mask_storeu_ps(q, m0, c##r); }

/// The same for ≤ 16 columns: the 32-wide kernel would spend half its FMAs on masked-off lanes.
HAE_TARGET static inline void kernel_8x16(long kc, const float *a, const float *b, float *c, long ldc,
                                          int accumulate, __mmask16 m0, const char *next) {
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    for (long k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_load_ps(b);
        HAE_ROW1(0) HAE_ROW1(1) HAE_ROW1(2) HAE_ROW1(3) HAE_ROW1(4) HAE_ROW1(5) HAE_ROW1(6) HAE_ROW1(7)
        HAE_PREFETCH_NEXT_PANEL(k, next)
        a += HAE_GEMM_MR;
        b += 32;
    }
    HAE_STORE1(0) HAE_STORE1(1) HAE_STORE1(2) HAE_STORE1(3) HAE_STORE1(4) HAE_STORE1(5) HAE_STORE1(6) HAE_STORE1(7)
}

/// Copies B's (kc × nr) slice into `panel` (kc × 32, zero-padded, 64-byte aligned): the kernels then read one
/// contiguous, aligned stream instead of kc strided rows that split cache lines and collide in L1's sets.
HAE_TARGET static void pack_b(long kc, long nr, const float *b, long ldb, float *panel) {
    const __mmask16 m0 = hae_first_lanes(nr), m1 = hae_first_lanes(nr - 16);
    for (long k = 0; k < kc; k++) {
        _mm512_store_ps(panel, _mm512_maskz_loadu_ps(m0, b));
        _mm512_store_ps(panel + 16, _mm512_maskz_loadu_ps(m1, b + 16));
        b += ldb;
        panel += 32;
    }
}

/// Columns of B packed at a time: a (KC × NC) block is 512 KB, a quarter of L2.
#define HAE_GEMM_NC 512

static pthread_key_t panel_key;
static pthread_once_t panel_once = PTHREAD_ONCE_INIT;
static void make_panel_key(void) { pthread_key_create(&panel_key, free); }

/// This thread's (KC, NC) buffer for packed B, allocated on its first call and freed when the thread ends.
static float *thread_panels(void) {
    pthread_once(&panel_once, make_panel_key);
    float *panels = pthread_getspecific(panel_key);
    if (!panels) {
        panels = aligned_alloc(64, sizeof(float) * HAE_GEMM_KC * HAE_GEMM_NC);
        if (panels) pthread_setspecific(panel_key, panels);
    }
    return panels;
}

/// One block of depths k0 … k0 + kc − 1 and nc columns: C (m × nc, ldc) (+)= A's block · B's block, each 8-row panel of
/// A (KC × 8, 8 KB, in L1) sweeping every 32-column tile; tile j's (kc × 32) panel starts at panels + j·tile_floats.
/// A panel's first tile prefetches the panel that follows: the next 8 rows' block, or the next block's first panel.
HAE_TARGET static inline void multiply_block(long m, long k, long k0, long kc, long nc, const float *packed,
                                             const float *panels, long tile_floats, float *c, long ldc) {
    const int accumulate = k0 > 0;
    const long panel_count = m / HAE_GEMM_MR;
    for (long p = 0; p < panel_count; p++) {
        const float *a = packed + (p * k + k0) * HAE_GEMM_MR;
        const float *following = p + 1 < panel_count ? a + k * HAE_GEMM_MR
                               : k0 + kc < k ? packed + (k0 + kc) * HAE_GEMM_MR : NULL;
        for (long t = 0; t < nc; t += 32) {
            const long nr = nc - t < 32 ? nc - t : 32;
            const float *panel = panels + t / 32 * tile_floats;
            float *cp = c + p * HAE_GEMM_MR * ldc + t;
            const char *next = t == 0 ? (const char *)following : NULL;
            if (nr > 16)
                kernel_8x32(kc, a, panel, cp, ldc, accumulate, hae_first_lanes(nr), hae_first_lanes(nr - 16), next);
            else kernel_8x16(kc, a, panel, cp, ldc, accumulate, hae_first_lanes(nr), next);
        }
    }
}

// The loops of Goto's GEMM with A already packed: per block of NC columns and KC depths, B's block is packed once
// (one (KC × 32) panel per 32-column tile, in L2), then each 8-row panel of A (KC × 8, 8 KB, in L1) sweeps every
// tile. So the weights stream from memory once per call, not once per 32 columns.
HAE_TARGET void hae_gemm_multiply(long m, long n, long k, const float *packed, const float *b, long ldb,
                                  float *c, long ldc) {
    float tile[HAE_GEMM_KC * 32] __attribute__((aligned(64)));   // fallback: one tile's panel at a time
    float *panels = thread_panels();
    const long block = panels ? HAE_GEMM_NC : 32;                // if the 512 KB were refused, 32 KB steps
    if (!panels) panels = tile;
    for (long n0 = 0; n0 < n; n0 += block) {
        const long nc = n - n0 < block ? n - n0 : block;
        for (long k0 = 0; k0 < k; k0 += HAE_GEMM_KC) {
            const long kc = k - k0 < HAE_GEMM_KC ? k - k0 : HAE_GEMM_KC;
            for (long t = 0; t < nc; t += 32)
                pack_b(kc, nc - t < 32 ? nc - t : 32, b + k0 * ldb + n0 + t, ldb, panels + t * kc);
            multiply_block(m, k, k0, kc, nc, packed, panels, 32 * kc, c + n0, ldc);
        }
    }
}

HAE_TARGET void hae_gemm_multiply_prepacked(long m, long n, long k, const float *packed_a, const float *packed_b,
                                            long panel_depth, float *c, long ldc) {
    // hae_gemm_multiply's blocks in the same order, reading the producer's panels instead of packing its own.
    for (long n0 = 0; n0 < n; n0 += HAE_GEMM_NC) {
        const long nc = n - n0 < HAE_GEMM_NC ? n - n0 : HAE_GEMM_NC;
        for (long k0 = 0; k0 < k; k0 += HAE_GEMM_KC)
            multiply_block(m, k, k0, k - k0 < HAE_GEMM_KC ? k - k0 : HAE_GEMM_KC, nc, packed_a,
                           packed_b + (n0 / 32 * panel_depth + k0) * 32, 32 * panel_depth, c + n0, ldc);
    }
}

#else  // not x86-64: never available; callers use OpenBLAS.

int hae_gemm_available(void) { return 0; }
void hae_gemm_multiply(long m, long n, long k, const float *packed, const float *b, long ldb, float *c, long ldc) {
    (void)m; (void)n; (void)k; (void)packed; (void)b; (void)ldb; (void)c; (void)ldc;
}
void hae_gemm_multiply_prepacked(long m, long n, long k, const float *packed_a, const float *packed_b,
                                 long panel_depth, float *c, long ldc) {
    (void)m; (void)n; (void)k; (void)packed_a; (void)packed_b; (void)panel_depth; (void)c; (void)ldc;
}

#endif

void hae_gemm_pack(long m, long k, const float *a, long lda, float *packed) {
    for (long p = 0; p < m / HAE_GEMM_MR; p++)
        for (long kk = 0; kk < k; kk++)
            for (long r = 0; r < HAE_GEMM_MR; r++)
                packed[(p * k + kk) * HAE_GEMM_MR + r] = a[(p * HAE_GEMM_MR + r) * lda + kk];
}

long hae_gemm_packed_b_count(long n, long k) {
    if (n < 0 || k < 0) return -1;
    const long tiles = (n + 31) / 32;
    long count;
    if (__builtin_mul_overflow(tiles, 32L, &count) || __builtin_mul_overflow(count, k, &count)) return -1;
    return count;
}
