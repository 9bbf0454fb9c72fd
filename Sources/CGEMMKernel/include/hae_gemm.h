// hae_gemm.h — an AVX-512 single-precision GEMM whose left operand (the model's weights) is packed once, at
// model-load time, instead of on every call as a general BLAS must.
//
// Why: a forward pass multiplies the same weight matrices by small activation matrices (N = 25 … 1 040
// columns at batch 1). OpenBLAS re-packs both operands on every call: at batch 1 that packing was about
// 16 % of the pass (perf). Here the weights are packed at load time; the activations are copied block by block
// (256 deep × 512 wide) into a 512 KB buffer each calling thread allocates once and frees when it ends.
//
// Layout of a packed matrix A (M × K, M a multiple of HAE_GEMM_MR): (M / MR, K, MR) — panel p holds rows
// p·MR … p·MR + MR − 1, column by column. It has exactly M·K floats.
//
// Every C element is summed over k in one fixed order (ascending, in blocks of HAE_GEMM_KC), whatever N, the
// column offset or the thread split: a column's result does not depend on which other columns share the call.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rows per packed panel (the micro-kernel's height).
#define HAE_GEMM_MR 8
/// Columns per micro-tile (the micro-kernel's width): thread splits along N fall on multiples of it.
#define HAE_GEMM_NR 32

/// 1 when this CPU runs the AVX-512 kernel (checked at run time: the binary itself targets any x86-64).
int hae_gemm_available(void);

/// Packs row-major `a` (m × k, leading dimension lda) into `packed` (m·k floats). m % HAE_GEMM_MR == 0.
void hae_gemm_pack(long m, long k, const float *a, long lda, float *packed);

/// Row-major C (m × n, ldc) = A (m × k, packed by hae_gemm_pack) · B (k × n, ldb), overwriting C.
/// m % HAE_GEMM_MR == 0. Only call when hae_gemm_available() returned 1.
void hae_gemm_multiply(long m, long n, long k, const float *packed, const float *b, long ldb, float *c, long ldc);

/// Floats of a B (k × n) packed for hae_gemm_multiply_prepacked: (⌈n/32⌉ tiles, k, 32) — 32·⌈n/32⌉·k; −1 if n or
/// k is negative or the count overflows. Column t of depth d lies at (⌊t/32⌋·panel_depth + d)·32 + t mod 32.
long hae_gemm_packed_b_count(long n, long k);

/// hae_gemm_multiply with B already packed (64-byte aligned): for producers that write the panels directly (the
/// transposed convolutions' Winograd input transform, whose chunk stays in L2), saving the copy hae_gemm_multiply
/// makes of every block of B. Same sums in the same order, so the same bits. Tile t's panel starts `t · panel_depth · 32` floats into
/// `packed_b`: panel_depth = k for a B of its own (hae_gemm_packed_b_count(n, k) floats), more for rows of a
/// taller packed matrix. Columns past n are read but never reach C.
void hae_gemm_multiply_prepacked(long m, long n, long k, const float *packed_a, const float *packed_b,
                                 long panel_depth, float *c, long ldc);

#ifdef __cplusplus
}
#endif
