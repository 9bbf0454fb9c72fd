// hae_gemm_bf16.h — the bf16 twin of hae_gemm.h: weights rounded to bfloat16 and packed once, at model-load time;
// activations rounded to bfloat16 while each block of B is packed; products summed in float32 by AVX512-BF16's
// VDPBF16PS (two bf16 products per float32 lane and instruction: twice the fp32 kernel's multiply-adds per cycle).
//
// Why: with half the bits per operand the packed weights and B panels take half the memory and cache, and one
// instruction does the work of two FMAs. Results differ from float32 by bf16's rounding of the inputs (8 significant
// bits, relative error ≤ 2⁻⁸ per operand, so ≤ 2⁻⁷ per product); the sums themselves are float32.
//
// Layout of a packed matrix A (M × K, M a multiple of HAE_GEMM_BF16_MR): (M / MR, ⌈K/2⌉, MR, 2) uint16 — panel p
// holds rows p·MR … p·MR + MR − 1; for each pair of depths (2j, 2j + 1) its MR rows, each as the two bf16 values
// A[row][2j], A[row][2j + 1] side by side (one 32-bit word: what VDPBF16PS broadcasts). An odd K gets a zero
// last depth. It has exactly hae_gemm_bf16_packed_count(M, K) = M · 2⌈K/2⌉ uint16.
//
// Every C element is summed over k in one fixed order (ascending pairs, in blocks of HAE_GEMM_BF16_KC depths),
// whatever N, the column offset or the thread split: a column's result does not depend on which other columns
// share the call.
//
// ```c
// uint16_t *w = malloc(sizeof(uint16_t) * hae_gemm_bf16_packed_count(64, 576));
// hae_gemm_bf16_pack(64, 576, weight, 576, w);                 // weight: (64, 576) row-major float
// if (hae_gemm_bf16_available()) hae_gemm_bf16_multiply(64, n, 576, w, im2col, n, out, n);
// ```
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rows per packed panel (the micro-kernel's height).
#define HAE_GEMM_BF16_MR 8
/// Columns per micro-tile (the micro-kernel's width): thread splits along N fall on multiples of it.
#define HAE_GEMM_BF16_NR 32

/// 1 when this CPU has AVX-512F, AVX-512BW and AVX512-BF16 (checked at run time: the binary targets any x86-64).
int hae_gemm_bf16_available(void);

/// 1 when this CPU's AVX512-BF16 outruns its float32 FMAs: AMD's (Zen 4 and later), where one VDPBF16PS does twice
/// an FMA's multiply-adds at the same rate (a bf16 pass took 14.1 ms against fp32's 25.9 on a Zen 4 EPYC). 0 elsewhere: Intel's
/// cores issue VDPBF16PS on one port and 512-bit FMAs on two, the same multiply-adds per cycle, so the rounding
/// buys nothing (measured on a Xeon, family 6 model 207: bf16 pass 30.6 ms, fp32 25.3 ms; its AMX tiles, where the
/// hypervisor exposes them, are another matter and not used yet). Independent of hae_gemm_bf16_available.
int hae_gemm_bf16_pays(void);

/// uint16 elements of a packed (m × k) matrix, m · 2⌈k/2⌉; −1 if m or k is negative or the count overflows.
long hae_gemm_bf16_packed_count(long m, long k);

/// Rounds row-major float `a` (m × k, leading dimension lda) to bf16 (to nearest, ties to even; NaN stays NaN)
/// and packs it into `packed` (hae_gemm_bf16_packed_count(m, k) uint16). m % HAE_GEMM_BF16_MR == 0.
/// Plain C: runs on any CPU. Bit for bit the rounding the multiply applies to B (VCVTNE2PS2BF16) on every
/// float but the denormals, which the hardware flushes to zero and VDPBF16PS reads as zero either way.
void hae_gemm_bf16_pack(long m, long k, const float *a, long lda, uint16_t *packed);

/// Row-major float C (m × n, ldc) = A (m × k, packed by hae_gemm_bf16_pack) · bf16(B) (k × n float, ldb),
/// overwriting C. m % HAE_GEMM_BF16_MR == 0. Only call when hae_gemm_bf16_available() returned 1.
void hae_gemm_bf16_multiply(long m, long n, long k, const uint16_t *packed, const float *b, long ldb,
                            float *c, long ldc);

/// uint16 elements of a B (k × n) packed for hae_gemm_bf16_multiply_prepacked: (⌈n/32⌉ tiles, ⌈k/2⌉ pairs, 32, 2) —
/// 32·⌈n/32⌉ · 2⌈k/2⌉; −1 if n or k is negative or the count overflows. Column t of pair j holds
/// (bf16 B[2j][t], bf16 B[2j + 1][t]); columns past n (and an odd k's last depth) must be zero.
long hae_gemm_bf16_packed_b_count(long n, long k);

/// Rounds one tile of B (kc × nr float, ldb; nr ≤ 32) to bf16 into `panel` (64-byte aligned, ⌈kc/2⌉ pairs × 32
/// columns × 2 uint16): pair j, column t holds (bf16 B[2j][t], bf16 B[2j + 1][t]), zero past nr and past an odd kc —
/// one tile of what hae_gemm_bf16_multiply_prepacked reads, rounded as hae_gemm_bf16_multiply rounds B. Only call
/// when hae_gemm_bf16_available() returned 1.
void hae_gemm_bf16_pack_b_panel(long kc, long nr, const float *b, long ldb, uint16_t *panel);

/// hae_gemm_bf16_multiply with B already rounded and packed (64-byte aligned): for producers that write the panels
/// directly (the Winograd input transforms), saving the conversion pass. Same sums in the same
/// order. Tile t's pairs start `t · panel_pairs` pairs (64 uint16 each) into `packed_b`: panel_pairs = ⌈k/2⌉ for a B
/// of its own (hae_gemm_bf16_packed_b_count(n, k) uint16), more for rows of a taller packed matrix.
void hae_gemm_bf16_multiply_prepacked(long m, long n, long k, const uint16_t *packed_a, const uint16_t *packed_b,
                                      long panel_pairs, float *c, long ldc);

#ifdef __cplusplus
}
#endif
