// hae_gemm_amx.h — the bf16 GEMM on Intel's AMX tiles (TDPBF16PS): weights rounded to bfloat16 and packed once,
// at model-load time, in the tiles' row layout; B read from the same packed panels the AVX512-BF16 kernel reads
// (hae_gemm_bf16.h: (⌈n/32⌉ tiles, pairs, 32, 2) uint16, which is already AMX's "VNNI" pair layout); products summed
// in float32 in the tile accumulators.
//
// Why: on Intel's cores VDPBF16PS runs no more multiply-adds per cycle than float32 FMAs (hae_gemm_bf16_pays), so
// bf16 pays there only on the tiles: one TDPBF16PS is a 16 × 16 × 32 product (8 192 multiply-adds).
//
// Layout of a packed matrix A (M × K): (⌈K/32⌉ blocks, M rows, 32) bf16 — block b holds, for every row, the 32
// depths 32b … 32b + 31 (one 64-byte tile row), zero past K — then 32 rows of zeros, so that a 32-row block of
// tiles starting at any row reads inside the allocation. Rows r … r + 15 of block b are one A tile: 64-byte stride.
// It has exactly hae_gemm_amx_packed_count(M, K) uint16.
//
// Every C element is summed over k in one fixed order (ascending 32-depth blocks, each one TDPBF16PS), whatever N,
// the column offset or the thread split. The multiply configures the tiles (LDTILECFG) on entry and releases them
// (TILERELEASE) on return, so a thread holds no tile state between calls.
//
// The *_emulated twins run the same loops with each tile instruction carried out in plain C as the Intel SDM
// describes it (fused multiply-adds in float32, bf16 denormals read as zero): what the tests check the loops, layouts
// and edges with on CPUs without AMX. They run on any CPU; they are for tests, not for speed.
//
// ```c
// uint16_t *w = malloc(sizeof(uint16_t) * hae_gemm_amx_packed_count(64, 576));
// hae_gemm_amx_pack(64, 576, weight, 576, w);                      // weight: (64, 576) row-major float
// if (hae_gemm_amx_available()) hae_gemm_amx_multiply(64, n, 576, w, 64, 0, im2col, n, out, n);
// ```
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What hae_gemm_amx_state found, in the order it checks.
enum {
    HAE_AMX_USABLE = 0,             ///< every check below passed
    HAE_AMX_NO_TILES = 1,           ///< the CPU lists no AMX-TILE and AMX-BF16 (CPUID leaf 7), or this is not x86-64 Linux
    HAE_AMX_NOT_ENABLED = 2,        ///< the OS does not enable the tile state (OSXSAVE, XCR0 bits 17 and 18)
    HAE_AMX_REFUSED = 3,            ///< Linux refused this process the tile data (arch_prctl ARCH_REQ_XCOMP_PERM)
    HAE_AMX_NO_AVX512_BF16 = 4,     ///< no AVX512-BF16 (hae_gemm_bf16_available: B is rounded with it)
    HAE_AMX_SELF_CHECK_FAILED = 5,  ///< the tiles' product of a fixed 40 × 40 × 100 case left their emulation's bounds
};

/// Whether this process can run the AMX kernel (HAE_AMX_USABLE) or the first check that failed. Probed once (the
/// permission asked, the self-check run) on the first call; later calls return the same.
int hae_gemm_amx_state(void);

/// 1 when hae_gemm_amx_state() is HAE_AMX_USABLE.
int hae_gemm_amx_available(void);

/// uint16 elements of a packed (m × k) matrix, (⌈k/32⌉·m + 32)·32; −1 if m or k is negative or the count overflows.
long hae_gemm_amx_packed_count(long m, long k);

/// Rounds row-major float `a` (m × k, leading dimension lda) to bf16 (as hae_gemm_bf16_pack does) into `packed`
/// (hae_gemm_amx_packed_count(m, k) uint16). Plain C: runs on any CPU.
void hae_gemm_amx_pack(long m, long k, const float *a, long lda, uint16_t *packed);

/// Row-major float C (m × n, ldc) = rows first_row … first_row + m − 1 of A (packed by hae_gemm_amx_pack with
/// `packed_rows` rows) · bf16(B) (k × n float, ldb), overwriting C. Only call when hae_gemm_amx_available() returned 1.
void hae_gemm_amx_multiply(long m, long n, long k, const uint16_t *packed, long packed_rows, long first_row,
                           const float *b, long ldb, float *c, long ldc);

/// The same with B already packed as hae_gemm_bf16_multiply_prepacked reads it: tile t's pairs start
/// `t · panel_pairs` pairs (64 uint16 each) into `packed_b`; columns past n and an odd k's last depth are zero.
void hae_gemm_amx_multiply_prepacked(long m, long n, long k, const uint16_t *packed, long packed_rows, long first_row,
                                     const uint16_t *packed_b, long panel_pairs, float *c, long ldc);

/// hae_gemm_amx_multiply with the tile instructions emulated in C (tests); any CPU.
void hae_gemm_amx_multiply_emulated(long m, long n, long k, const uint16_t *packed, long packed_rows,
                                    long first_row, const float *b, long ldb, float *c, long ldc);

/// hae_gemm_amx_multiply_prepacked with the tile instructions emulated in C (tests); any CPU.
void hae_gemm_amx_multiply_prepacked_emulated(long m, long n, long k, const uint16_t *packed, long packed_rows,
                                              long first_row, const uint16_t *packed_b, long panel_pairs,
                                              float *c, long ldc);

#ifdef __cplusplus
}
#endif
