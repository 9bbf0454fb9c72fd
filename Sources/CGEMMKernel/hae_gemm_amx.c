// hae_gemm_amx.c — see hae_gemm_amx.h. Per 32 rows × 32 columns of C, four 16 × 16 float accumulator tiles; per
// 32 depths two A tiles and two B tiles (the B tiles read straight from the packed panels: 16 pairs at a 128-byte
// stride are one tile's rows) and four TDPBF16PS. The loops live in hae_gemm_amx_body.h, compiled here twice: on the
// tile instructions, and on their emulation in C (what the tests run where the CPU has no AMX).
//
// Not measured: no machine this repository has run on exposes AMX (the AMD EPYCs have none; the Xeon's hypervisor
// hides it). The blocking follows oneDNN's and Intel's AMX guidance (2 × 2 accumulator tiles, A and B each loaded
// once per two products); its speed is for the first session on an AMX machine to measure.
#include "hae_gemm_amx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hae_bf16_round.h"
#include "hae_gemm_bf16.h"

/// Depths of B rounded and packed at a time by hae_gemm_amx_multiply (a multiple of 32: whole A blocks).
#define HAE_GEMM_AMX_KC 512
_Static_assert(HAE_GEMM_AMX_KC % 32 == 0, "whole 32-depth blocks");

long hae_gemm_amx_packed_count(long m, long k) {
    long rows, count;
    if (m < 0 || k < 0 || __builtin_mul_overflow((k + 31) / 32, m, &rows) || __builtin_add_overflow(rows, 32, &rows)
        || __builtin_mul_overflow(rows, 32, &count))
        return -1;
    return count;
}

void hae_gemm_amx_pack(long m, long k, const float *a, long lda, uint16_t *packed) {
    const long blocks = (k + 31) / 32;
    for (long b = 0; b < blocks; b++)                                   // depths 32b … 32b + 31
        for (long r = 0; r < m; r++) {
            uint16_t *row = packed + (b * m + r) * 32;                  // (b, r, 0 … 31)
            for (long q = 0; q < 32; q++) row[q] = 32 * b + q < k ? hae_bf16_from_float(a[r * lda + 32 * b + q]) : 0;
        }
    memset(packed + blocks * m * 32, 0, sizeof(uint16_t) * 32 * 32);   // 32 rows of padding
}

// MARK: the tile instructions in C

/// The eight emulated tile registers, each 16 rows of 64 bytes (the palette every call configures).
typedef struct { _Alignas(64) unsigned char rows[8][16][64]; } amx_tiles;

/// A bf16 as the tile unit reads it: its bits are a float's upper half; a denormal reads as zero.
static inline float amx_float_from_bf16(uint16_t h) {
    const uint32_t bits = (h & 0x7F80u) == 0 ? (uint32_t)(h & 0x8000u) << 16 : (uint32_t)h << 16;
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/// TDPBF16PS on 16 × 16 float C (tile c), 16 × 32 bf16 A (tile a), 16 pairs × 16 columns B (tile b), as the SDM's
/// pseudocode orders it: per row m and pair k ascending, C[m][n] += A[m][2k]·B[k][2n], then += A[m][2k+1]·B[k][2n+1],
/// each a float32 fused multiply-add; denormal results flushed to zero.
static void amx_emulated_dp(amx_tiles *t, int c, int a, int b) {
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) {
            float sum;
            memcpy(&sum, &t->rows[c][m][4 * n], sizeof sum);
            for (int k = 0; k < 16; k++) {
                uint16_t a0, a1, b0, b1;
                memcpy(&a0, &t->rows[a][m][4 * k], 2); memcpy(&a1, &t->rows[a][m][4 * k + 2], 2);
                memcpy(&b0, &t->rows[b][k][4 * n], 2); memcpy(&b1, &t->rows[b][k][4 * n + 2], 2);
                sum = fmaf(amx_float_from_bf16(a0), amx_float_from_bf16(b0), sum);
                sum = fmaf(amx_float_from_bf16(a1), amx_float_from_bf16(b1), sum);
            }
            if (fpclassify(sum) == FP_SUBNORMAL) sum = copysignf(0, sum);
            memcpy(&t->rows[c][m][4 * n], &sum, sizeof sum);
        }
}

static void amx_emulated_load(amx_tiles *t, int tile, const void *p, long stride) {
    for (int r = 0; r < 16; r++) memcpy(t->rows[tile][r], (const char *)p + r * stride, 64);
}

static void amx_emulated_store(amx_tiles *t, int tile, void *p, long stride) {
    for (int r = 0; r < 16; r++) memcpy((char *)p + r * stride, t->rows[tile][r], 64);
}

/// One tile of B rounded in C as hae_gemm_bf16_pack_b_panel rounds it (the test data has no denormals, where the two
/// differ): (⌈kc/2⌉, 32, 2) bf16, zero past nr and an odd kc.
static void amx_emulated_pack_b(long kc, long nr, const float *b, long ldb, uint16_t *panel) {
    for (long j = 0; j < (kc + 1) / 2; j++)
        for (long t = 0; t < 32; t++) {
            panel[(j * 32 + t) * 2] = t < nr ? hae_bf16_from_float(b[2 * j * ldb + t]) : 0;
            panel[(j * 32 + t) * 2 + 1] = t < nr && 2 * j + 1 < kc ? hae_bf16_from_float(b[(2 * j + 1) * ldb + t]) : 0;
        }
}

#define AMX_NAME(x) x##_emulated
#define AMX_TARGET
#define AMX_TILES amx_tiles *tiles,
#define AMX_TILES_ARG tiles,
#define AMX_BEGIN amx_tiles tile_file, *tiles = &tile_file; memset(tiles, 0, sizeof tile_file);
#define AMX_END
#define AMX_ZERO(t) memset(tiles->rows[t], 0, 1024)
#define AMX_LOAD(t, p, stride) amx_emulated_load(tiles, t, p, stride)
#define AMX_STORE(t, p, stride) amx_emulated_store(tiles, t, p, stride)
#define AMX_DP(c, a, b) amx_emulated_dp(tiles, c, a, b)
#define AMX_PACK_B amx_emulated_pack_b
#include "hae_gemm_amx_body.h"
#undef AMX_NAME
#undef AMX_TARGET
#undef AMX_TILES
#undef AMX_TILES_ARG
#undef AMX_BEGIN
#undef AMX_END
#undef AMX_ZERO
#undef AMX_LOAD
#undef AMX_STORE
#undef AMX_DP
#undef AMX_PACK_B

// MARK: the tile instructions

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Linux's arch_prctl request for permission to use an extended state component, and AMX's tile data component.
#define HAE_ARCH_REQ_XCOMP_PERM 0x1023
#define HAE_XFEATURE_XTILEDATA 18

static int amx_state = HAE_AMX_NO_TILES;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static int amx_self_check(void);

static void amx_probe(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 22))) return; // AMX-TILE, -BF16
    amx_state = HAE_AMX_NOT_ENABLED;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return;                                  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return;                       // XTILECFG, XTILEDATA enabled by the OS
    amx_state = HAE_AMX_REFUSED;
    if (syscall(SYS_arch_prctl, HAE_ARCH_REQ_XCOMP_PERM, HAE_XFEATURE_XTILEDATA) != 0) return;
    amx_state = HAE_AMX_NO_AVX512_BF16;
    if (!hae_gemm_bf16_available()) return;
    amx_state = amx_self_check() ? HAE_AMX_USABLE : HAE_AMX_SELF_CHECK_FAILED;
}

int hae_gemm_amx_state(void) {
    pthread_once(&amx_once, amx_probe);
    return amx_state;
}

int hae_gemm_amx_available(void) { return hae_gemm_amx_state() == HAE_AMX_USABLE; }

/// LDTILECFG's 64-byte operand: palette 1, tiles 0–7 of 16 rows × 64 bytes.
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_tile_config;

#define HAE_AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))

HAE_AMX_TARGET static inline void amx_configure(void) {
    _Alignas(64) amx_tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) { config.colsb[t] = 64; config.rows[t] = 16; }
    _tile_loadconfig(&config);
}

#define AMX_NAME(x) x
#define AMX_TARGET HAE_AMX_TARGET
#define AMX_TILES
#define AMX_TILES_ARG
#define AMX_BEGIN amx_configure();
#define AMX_END _tile_release();
#define AMX_ZERO(t) _tile_zero(t)
#define AMX_LOAD(t, p, stride) _tile_loadd(t, p, stride)
#define AMX_STORE(t, p, stride) _tile_stored(t, p, stride)
#define AMX_DP(c, a, b) _tile_dpbf16ps(c, a, b)
#define AMX_PACK_B hae_gemm_bf16_pack_b_panel
#include "hae_gemm_amx_body.h"

/// The tiles against their emulation on one fixed product, once, before anything relies on them: 40 × 40 × 100
/// (edge rows and columns, a partial 32-depth block), values in [−1, 1). Both sum bf16 products in float32, maybe in
/// different orders: each C element may differ by float32 summation error over its 100 terms, never more.
static int amx_self_check(void) {
    enum { M = 40, N = 40, K = 100 };
    static float a[M * K], b[K * N], tiles[M * N], emulated[M * N];
    static uint16_t packed[(K / 32 + 1) * M * 32 + 32 * 32];
    if (hae_gemm_amx_packed_count(M, K) != (long)(sizeof packed / sizeof packed[0])) return 0;
    uint32_t seed = 12345;
    for (int i = 0; i < M * K + K * N; i++) {
        seed = seed * 1664525u + 1013904223u;
        const float x = (float)(seed >> 8) / 8388608.0f - 1.0f;
        if (i < M * K) a[i] = x; else b[i - M * K] = x;
    }
    hae_gemm_amx_pack(M, K, a, K, packed);
    hae_gemm_amx_multiply(M, N, K, packed, M, 0, b, N, tiles, N);
    hae_gemm_amx_multiply_emulated(M, N, K, packed, M, 0, b, N, emulated, N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float magnitude = 0;
            for (int p = 0; p < K; p++) magnitude += fabsf(a[i * K + p] * b[p * N + j]);
            if (!(fabsf(tiles[i * N + j] - emulated[i * N + j]) <= 2.2f * K * 0x1p-24f * magnitude + 1e-30f)) return 0;
        }
    return 1;
}

#else  // no AMX here (or no way to ask Linux for it): never available; the emulation above still runs.

int hae_gemm_amx_state(void) { return HAE_AMX_NO_TILES; }
int hae_gemm_amx_available(void) { return 0; }
void hae_gemm_amx_multiply(long m, long n, long k, const uint16_t *packed, long packed_rows, long first_row,
                           const float *b, long ldb, float *c, long ldc) {
    (void)m; (void)n; (void)k; (void)packed; (void)packed_rows; (void)first_row; (void)b; (void)ldb; (void)c; (void)ldc;
}
void hae_gemm_amx_multiply_prepacked(long m, long n, long k, const uint16_t *packed, long packed_rows, long first_row,
                                     const uint16_t *packed_b, long panel_pairs, float *c, long ldc) {
    (void)m; (void)n; (void)k; (void)packed; (void)packed_rows; (void)first_row; (void)packed_b; (void)panel_pairs;
    (void)c; (void)ldc;
}

#endif
