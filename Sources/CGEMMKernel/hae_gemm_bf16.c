// hae_gemm_bf16.c — see hae_gemm_bf16.h. The loops of hae_gemm.c with bf16 operands: one 8 × 32 micro-kernel
// (16 float32 accumulators; per pair of depths two loads of B, eight broadcasts of A, sixteen VDPBF16PS), an 8 × 16
// one for the last ≤ 16 columns, masks for the ragged edge. B is rounded to bf16 as its panels are packed, by the
// first A panel's kernel itself (kernel_8x32_packing): packing apart cost 5–16 % of a call on this model's
// shapes; fused, it hides behind the VDPBF16PS (whole pass 3–4 % faster at batch 1). Measured on Zen 4 (EPYC,
// one core): 180–220 GFLOP/s against the fp32 kernel's 95–110, the pass's GEMMs 1.95–2.0× faster. (An 8 × 48
// kernel measured within ±2 % of 8 × 32; KC 256–1024 and NC 256–1024 within 1 %.)
#include "hae_gemm_bf16.h"

#include <string.h>

#include "hae_bf16_round.h"

// Both overridable with -D only for tuning (the harness does); the package builds with these values.
#ifndef HAE_GEMM_BF16_KC
/// Depths per block of k (even, so every block but the last starts and ends on a pair): an A panel (KC × 8 bf16,
/// 8 KB) stays in L1 while it sweeps the block's column tiles.
#define HAE_GEMM_BF16_KC 512
#endif
#ifndef HAE_GEMM_BF16_NC
/// Columns of B packed at a time: a (KC × NC) bf16 block is 512 KB, half of L2.
#define HAE_GEMM_BF16_NC 512
#endif
_Static_assert(HAE_GEMM_BF16_KC % 2 == 0 && HAE_GEMM_BF16_NC % 32 == 0, "blocks of whole pairs and tiles");

long hae_gemm_bf16_packed_count(long m, long k) {
    long count;
    if (m < 0 || k < 0 || __builtin_mul_overflow(m, k + (k & 1), &count)) return -1;
    return count;
}

void hae_gemm_bf16_pack(long m, long k, const float *a, long lda, uint16_t *packed) {
    const long pairs = (k + 1) / 2;
    for (long p = 0; p < m / HAE_GEMM_BF16_MR; p++)                    // panel p: rows p·8 … p·8 + 7
        for (long j = 0; j < pairs; j++)                                // depths 2j, 2j + 1
            for (long r = 0; r < HAE_GEMM_BF16_MR; r++) {
                const float *row = a + (p * HAE_GEMM_BF16_MR + r) * lda;
                uint16_t *pair = packed + ((p * pairs + j) * HAE_GEMM_BF16_MR + r) * 2;   // (p, j, r, 0…1)
                pair[0] = hae_bf16_from_float(row[2 * j]);
                pair[1] = 2 * j + 1 < k ? hae_bf16_from_float(row[2 * j + 1]) : 0;          // odd k: zero depth
            }
}

long hae_gemm_bf16_packed_b_count(long n, long k) {
    long count;
    if (n < 0 || k < 0 || n > (long)1 << 40 || __builtin_mul_overflow((n + 31) / 32 * 32, k + (k & 1), &count))
        return -1;
    return count;
}

#if defined(__x86_64__)
#include <immintrin.h>

#include "hae_lanes.h"
#include <pthread.h>
#include <stdlib.h>

int hae_gemm_bf16_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512bf16") ? 1 : 0;
}

int hae_gemm_bf16_pays(void) {
    __builtin_cpu_init();
    return __builtin_cpu_is("amd") ? 1 : 0;
}

#define HAE_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

/// One 32-bit word of a packed panel: a row's bf16 pair. may_alias: the panel is stored as uint16_t.
typedef int32_t __attribute__((may_alias)) bf16_pair;

// One row r of the 8 × 32 tile, one pair of depths j:
//   c[r][0..31] += a[r][2j]·b[2j][0..31] + a[r][2j+1]·b[2j+1][0..31].
// The pair (one 32-bit word of the panel) is broadcast to all 16 lanes; each lane holds one column's pair of B.
#define BF16_ROW2(r) { const __m512bh s = (__m512bh)_mm512_set1_epi32(a[r]); \
    c##r##0 = _mm512_dpbf16_ps(c##r##0, s, b0); c##r##1 = _mm512_dpbf16_ps(c##r##1, s, b1); }
#define BF16_STORE2(r) { float *q = c + (r) * ldc; \
    if (accumulate) { c##r##0 = _mm512_add_ps(c##r##0, _mm512_maskz_loadu_ps(m0, q)); \
                      c##r##1 = _mm512_add_ps(c##r##1, _mm512_maskz_loadu_ps(m1, q + 16)); } \
    _mm512_mask_storeu_ps(q, m0, c##r##0); _mm512_mask_storeu_ps(q + 16, m1, c##r##1); }

/// C (8 × ≤32 float, ldc) (+)= A panel (pairs, 8, 2 bf16, read as pairs × 8 words) · B panel (pairs, 32, 2 bf16);
/// m0/m1 mask the columns 0–15 and 16–31; `next`: see HAE_PREFETCH_NEXT_PANEL (hae_lanes.h).
HAE_BF16_TARGET static inline void kernel_8x32(long pairs, const bf16_pair *a, const __m512i *b, float *c, long ldc,
                                               int accumulate, __mmask16 m0, __mmask16 m1, const char *next) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (long j = 0; j < pairs; j++) {                                  // pair j: depths 2j, 2j + 1
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 1);
        BF16_ROW2(0) BF16_ROW2(1) BF16_ROW2(2) BF16_ROW2(3) BF16_ROW2(4) BF16_ROW2(5) BF16_ROW2(6) BF16_ROW2(7)
        HAE_PREFETCH_NEXT_PANEL(j, next)
        a += HAE_GEMM_BF16_MR;
        b += 2;
    }
    BF16_STORE2(0) BF16_STORE2(1) BF16_STORE2(2) BF16_STORE2(3)
    BF16_STORE2(4) BF16_STORE2(5) BF16_STORE2(6) BF16_STORE2(7)
}

#define BF16_ROW1(r) { c##r = _mm512_dpbf16_ps(c##r, (__m512bh)_mm512_set1_epi32(a[r]), b0); }
#define BF16_STORE1(r) { float *q = c + (r) * ldc; \
    if (accumulate) c##r = _mm512_add_ps(c##r, _mm512_maskz_loadu_ps(m0, q)); \
    _mm512_mask_storeu_ps(q, m0, c##r); }

/// The same for ≤ 16 columns (the panel's first 16 column pairs): the 32-wide kernel would spend half its
/// instructions on masked-off lanes. Each lane sees the same instruction sequence as in kernel_8x32.
HAE_BF16_TARGET static inline void kernel_8x16(long pairs, const bf16_pair *a, const __m512i *b, float *c, long ldc,
                                               int accumulate, __mmask16 m0, const char *next) {
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    for (long j = 0; j < pairs; j++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b);
        BF16_ROW1(0) BF16_ROW1(1) BF16_ROW1(2) BF16_ROW1(3) BF16_ROW1(4) BF16_ROW1(5) BF16_ROW1(6) BF16_ROW1(7)
        HAE_PREFETCH_NEXT_PANEL(j, next)
        a += HAE_GEMM_BF16_MR;
        b += 2;
    }
    BF16_STORE1(0) BF16_STORE1(1) BF16_STORE1(2) BF16_STORE1(3)
    BF16_STORE1(4) BF16_STORE1(5) BF16_STORE1(6) BF16_STORE1(7)
}

/// Rounds B's (kc × nr float, ldb) slice to bf16 into `panel` ((kc + 1)/2 pairs × 32 columns × 2 bf16, 64-byte
/// aligned, zero past nr and past an odd kc): element (j, col, q) = bf16(B[2j + q][col]). Per pair and 16
/// columns: two loads, one VCVTNE2PS2BF16 (rows 2j+1 | 2j as 32 bf16) and one VPERMW interleaving them by column.
HAE_BF16_TARGET static void pack_b(long kc, long nr, const float *b, long ldb, __m512i *panel) {
    const __mmask16 m0 = hae_first_lanes(nr), m1 = hae_first_lanes(nr - 16);
    // Word 2i of the result is bf16(row 2j)[i] (word i of the low half), word 2i+1 is bf16(row 2j+1)[i] (word 16+i).
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (long kk = 0; kk < kc; kk += 2) {
        const int has_odd = kk + 1 < kc;                               // else depth kk + 1 is the zero padding
        const float *even = b + kk * ldb, *odd = has_odd ? even + ldb : even;
        const __m512 e0 = _mm512_maskz_loadu_ps(m0, even), e1 = _mm512_maskz_loadu_ps(m1, even + 16);
        const __m512 o0 = has_odd ? _mm512_maskz_loadu_ps(m0, odd) : _mm512_setzero_ps();
        const __m512 o1 = has_odd ? _mm512_maskz_loadu_ps(m1, odd + 16) : _mm512_setzero_ps();
        _mm512_store_si512(panel, _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(o0, e0)));
        _mm512_store_si512(panel + 1, _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(o1, e1)));
        panel += 2;
    }
}

HAE_BF16_TARGET void hae_gemm_bf16_pack_b_panel(long kc, long nr, const float *b, long ldb, uint16_t *panel) {
    pack_b(kc, nr, b, ldb, (__m512i *)panel);
}

/// kernel_8x32 for the first A panel of a block, packing B's tile on the way: C (8 × ≤32 float, ldc) (+)= A panel
/// ((kc + 1)/2 pairs × 8 words) · bf16(src) (kc × ≤32 float, ldb, masked by m0/m1), writing bf16(src) into `panel`
/// ((kc + 1)/2, 32, 2) exactly as pack_b does. The conversion's loads, VCVTNE2PS2BF16/VPERMW and stores then hide
/// behind the VDPBF16PS instead of running as a pass of their own; each lane's arithmetic is kernel_8x32's.
HAE_BF16_TARGET static void kernel_8x32_packing(long kc, const bf16_pair *a, const float *src, long ldb,
                                                __m512i *panel, float *c, long ldc, int accumulate,
                                                __mmask16 m0, __mmask16 m1, const char *next) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (long kk = 0; kk < kc; kk += 2) {                              // pair kk/2: depths kk, kk + 1
        const int has_odd = kk + 1 < kc;
        const __mmask16 n0 = has_odd ? m0 : 0, n1 = has_odd ? m1 : 0;      // the padding row reads as zero
        const float *even = src + kk * ldb, *odd = has_odd ? even + ldb : even;
        const __m512bh b0 = (__m512bh)_mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(
            _mm512_maskz_loadu_ps(n0, odd), _mm512_maskz_loadu_ps(m0, even)));
        const __m512bh b1 = (__m512bh)_mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(
            _mm512_maskz_loadu_ps(n1, odd + 16), _mm512_maskz_loadu_ps(m1, even + 16)));
        _mm512_store_si512(panel, (__m512i)b0);
        _mm512_store_si512(panel + 1, (__m512i)b1);
        BF16_ROW2(0) BF16_ROW2(1) BF16_ROW2(2) BF16_ROW2(3) BF16_ROW2(4) BF16_ROW2(5) BF16_ROW2(6) BF16_ROW2(7)
        HAE_PREFETCH_NEXT_PANEL(kk / 2, next)
        a += HAE_GEMM_BF16_MR;
        panel += 2;
    }
    BF16_STORE2(0) BF16_STORE2(1) BF16_STORE2(2) BF16_STORE2(3)
    BF16_STORE2(4) BF16_STORE2(5) BF16_STORE2(6) BF16_STORE2(7)
}

/// The A panel to prefetch while panel p (at `a`) computes its block, whose pairs end before `block_end`: the next
/// 8 rows' block, the first panel's next block, or NULL after the last.
static inline const char *following_panel(long m, long p, long pairs, long block_end, const bf16_pair *packed,
                                          const bf16_pair *a) {
    if (p + 1 < m / HAE_GEMM_BF16_MR) return (const char *)(a + pairs * HAE_GEMM_BF16_MR);
    return block_end < pairs ? (const char *)(packed + block_end * HAE_GEMM_BF16_MR) : NULL;
}

static pthread_key_t panel_key;
static pthread_once_t panel_once = PTHREAD_ONCE_INIT;
static void make_panel_key(void) { pthread_key_create(&panel_key, free); }

/// This thread's (KC/2 pairs, NC columns, 2) bf16 buffer for packed B (512 KB), allocated on its first call and
/// freed when the thread ends.
static __m512i *thread_panels(void) {
    pthread_once(&panel_once, make_panel_key);
    __m512i *panels = pthread_getspecific(panel_key);
    if (!panels) {
        panels = aligned_alloc(64, sizeof(uint16_t) * HAE_GEMM_BF16_KC * HAE_GEMM_BF16_NC);
        if (panels) pthread_setspecific(panel_key, panels);
    }
    return panels;
}

// Goto's loops with A already packed, as in hae_gemm.c: per block of NC columns and KC depths, B's block is
// rounded and packed once (one (KC/2 × 32 × 2) panel per 32-column tile, in L2) — by the first 8-row panel of A as
// it sweeps the tiles — then every other panel of A (KC/2 × 8 × 2, 8 KB, in L1) sweeps them too.
HAE_BF16_TARGET void hae_gemm_bf16_multiply(long m, long n, long k, const uint16_t *packed, const float *b, long ldb,
                                            float *c, long ldc) {
    __m512i tile[HAE_GEMM_BF16_KC];                                    // fallback: one tile's panel (KC/2 × 2 × 64 B)
    __m512i *panels = thread_panels();
    const long block = panels ? HAE_GEMM_BF16_NC : 32;                // if the 512 KB were refused, 32 KB steps
    if (!panels) panels = tile;
    const long pairs = (k + 1) / 2;                                    // depth pairs of the packed A
    for (long n0 = 0; n0 < n; n0 += block) {                           // columns n0 … n0 + nc − 1
        const long nc = n - n0 < block ? n - n0 : block;
        for (long k0 = 0; k0 < k; k0 += HAE_GEMM_BF16_KC) {           // depths k0 … k0 + kc − 1 (k0 even)
            const long kc = k - k0 < HAE_GEMM_BF16_KC ? k - k0 : HAE_GEMM_BF16_KC;
            const long kp = (kc + 1) / 2;                              // pairs in this block
            const int accumulate = k0 > 0;
            for (long p = 0; p < m / HAE_GEMM_BF16_MR; p++) {                // A panel p: rows p·8 … p·8 + 7
                // Its pairs k0/2 … k0/2 + kp − 1: (kp, 8) 32-bit words.
                const bf16_pair *a = (const bf16_pair *)packed + (p * pairs + k0 / 2) * HAE_GEMM_BF16_MR;
                const char *following = following_panel(m, p, pairs, k0 / 2 + kp, (const bf16_pair *)packed, a);
                for (long t = 0; t < nc; t += 32) {                    // tile t: columns n0 + t … n0 + t + nr − 1
                    const long nr = nc - t < 32 ? nc - t : 32;
                    float *cp = c + p * HAE_GEMM_BF16_MR * ldc + n0 + t;    // C (8 × nr, ldc)
                    __m512i *panel = panels + t / 16 * kp;              // B panel (kp, 32, 2) bf16 = kp × 2 vectors
                    const char *next = t == 0 ? following : NULL;
                    if (p == 0 && nr > 16)
                        kernel_8x32_packing(kc, a, b + k0 * ldb + n0 + t, ldb, panel, cp, ldc, accumulate,
                                            hae_first_lanes(nr), hae_first_lanes(nr - 16), next);
                    else {
                        if (p == 0) pack_b(kc, nr, b + k0 * ldb + n0 + t, ldb, panel);
                        if (nr > 16)
                            kernel_8x32(kp, a, panel, cp, ldc, accumulate, hae_first_lanes(nr), hae_first_lanes(nr - 16),
                                        next);
                        else kernel_8x16(kp, a, panel, cp, ldc, accumulate, hae_first_lanes(nr), next);
                    }
                }
            }
        }
    }
}

// The same loops over a B packed beforehand: tile t's pairs k0/2 … of its panel (panel_pairs, 32, 2).
HAE_BF16_TARGET void hae_gemm_bf16_multiply_prepacked(long m, long n, long k, const uint16_t *packed_a,
                                                      const uint16_t *packed_b, long panel_pairs, float *c, long ldc) {
    const long pairs = (k + 1) / 2;
    const __m512i *b = (const __m512i *)packed_b;
    for (long n0 = 0; n0 < n; n0 += HAE_GEMM_BF16_NC) {
        const long nc = n - n0 < HAE_GEMM_BF16_NC ? n - n0 : HAE_GEMM_BF16_NC;
        for (long k0 = 0; k0 < k; k0 += HAE_GEMM_BF16_KC) {
            const long kc = k - k0 < HAE_GEMM_BF16_KC ? k - k0 : HAE_GEMM_BF16_KC;
            const long kp = (kc + 1) / 2;
            const int accumulate = k0 > 0;
            for (long p = 0; p < m / HAE_GEMM_BF16_MR; p++) {
                const bf16_pair *a = (const bf16_pair *)packed_a + (p * pairs + k0 / 2) * HAE_GEMM_BF16_MR;
                const char *following = following_panel(m, p, pairs, k0 / 2 + kp, (const bf16_pair *)packed_a, a);
                for (long t = 0; t < nc; t += 32) {
                    const long nr = nc - t < 32 ? nc - t : 32;
                    float *cp = c + p * HAE_GEMM_BF16_MR * ldc + n0 + t;
                    const __m512i *panel = b + ((n0 + t) / 32 * panel_pairs + k0 / 2) * 2;
                    const char *next = t == 0 ? following : NULL;
                    if (nr > 16)
                        kernel_8x32(kp, a, panel, cp, ldc, accumulate, hae_first_lanes(nr), hae_first_lanes(nr - 16), next);
                    else kernel_8x16(kp, a, panel, cp, ldc, accumulate, hae_first_lanes(nr), next);
                }
            }
        }
    }
}

#else  // not x86-64: never available; callers use the float32 paths.

int hae_gemm_bf16_available(void) { return 0; }
int hae_gemm_bf16_pays(void) { return 0; }
void hae_gemm_bf16_pack_b_panel(long kc, long nr, const float *b, long ldb, uint16_t *panel) {
    (void)kc; (void)nr; (void)b; (void)ldb; (void)panel;
}
void hae_gemm_bf16_multiply(long m, long n, long k, const uint16_t *packed, const float *b, long ldb,
                            float *c, long ldc) {
    (void)m; (void)n; (void)k; (void)packed; (void)b; (void)ldb; (void)c; (void)ldc;
}
void hae_gemm_bf16_multiply_prepacked(long m, long n, long k, const uint16_t *packed_a, const uint16_t *packed_b,
                                      long panel_pairs, float *c, long ldc) {
    (void)m; (void)n; (void)k; (void)packed_a; (void)packed_b; (void)panel_pairs; (void)c; (void)ldc;
}

#endif
