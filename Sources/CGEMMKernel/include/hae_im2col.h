// hae_im2col.h — im2col for the encoder's strided convolutions written straight into the packed B panels of
// hae_gemm_multiply_prepacked (float32) and hae_gemm_bf16_multiply_prepacked (bf16).
//
// Why: the row-major im2col matrix was written only for the GEMM to read it back and repack it (at bf16 also round
// it); here the windows are gathered (stride 2 by one VPERMT2PS per 16 columns) and packed in one pass (at bf16
// rounded too: half the bytes). A vector's 16 columns run on from one output row into the next (enc4's rows are 10
// columns, enc3's 19). TensorKernels' Conv2d uses it wherever its weights are panels of the packed kernels.
//
// ```c
// hae_im2col_bf16(x, 64, 8, 75, 75, 3, 2, 1, 38, 38, 0, 304, 0, 288, b);   // enc2: K = 576, rows 0…303
// hae_im2col_f32(x, 64, 8, 75, 75, 3, 2, 1, 38, 38, 0, 304, 0, 576, f);    // the same, float32
// ```
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The widest kernel hae_im2col_bf16 takes (its tables hold a mask per kernel column).
#define HAE_IM2COL_MAX_KERNEL 7

/// Rows of the im2col matrix (K = C·k·k, row (c, u, v)) for output rows g = first_row … first_row + row_count − 1
/// (global g = n·out_h + i), column r·out_w + j: input[c, n, s·i + u − p, s·j + v − p], 0 in the padding. Writes
/// depth pairs first_pair … first_pair + pair_count − 1 (rows 2q, 2q + 1; a row past K is zero) of `b`, laid out as
/// hae_gemm_bf16_multiply_prepacked reads it with panel_pairs = ⌈K/2⌉, zero past the chunk's columns. `input`:
/// (C, N, H, W). stride 1 or 2, kernel ≤ HAE_IM2COL_MAX_KERNEL. Needs AVX512-BF16.
void hae_im2col_bf16(const float *input, long channels, long batch, long height, long width, long kernel, long stride,
                     long padding, long out_h, long out_w, long first_row, long row_count, long first_pair,
                     long pair_count, uint16_t *b);

/// The same rows as float32, depths first_depth … first_depth + depth_count − 1 of `b`, laid out as
/// hae_gemm_multiply_prepacked reads it with panel_depth = K ((⌈count/32⌉, K, 32) floats, 64-byte aligned; zero past
/// the chunk's columns). Needs AVX-512F.
void hae_im2col_f32(const float *input, long channels, long batch, long height, long width, long kernel, long stride,
                    long padding, long out_h, long out_w, long first_row, long row_count, long first_depth,
                    long depth_count, float *b);

#ifdef __cplusplus
}
#endif
