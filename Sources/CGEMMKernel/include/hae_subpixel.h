// hae_subpixel.h — the data movement of TensorKernels' SubPixelConvTranspose (the decoder's 3×3 stride-2 transposed
// convolutions as four parity GEMMs over shifted copies of the input) in AVX-512.
//
// Why: compiled for AVX2 the Swift loops stored the outputs one float at a time at stride 2, and at bf16 the shifted
// copies were written in float32 only for the GEMM to round and repack them; together ~6 % of a bf16 forward pass.
// Here two VPERMT2PS interleave 16 + 16 outputs, and the bf16 gather writes the shifted rows straight into the packed
// B panels of hae_gemm_bf16_multiply_prepacked, 16 columns a load running on from one row into the next (up1's rows
// are 10 columns, up2's 20).
//
// ```c
// hae_subpixel_interleave_add(even_plane_row, odd_plane_row, output_row, width, bias[co]);  // 2·width floats out
// ```
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// out[2j] = even[j] + bias, out[2j + 1] = odd[j] + bias for j < count. AVX-512 where the CPU has it, else plain C
/// (chosen at run time); the same sums either way.
void hae_subpixel_interleave_add(const float *even, const float *odd, float *out, long count, float bias);

/// The shifted input of one chunk of rows as packed bf16 B panels: row (block, ci) of the (4·C_in, row_count·W)
/// matrix, column r·W + j, holds input[ci, n, i + dy, j + dx] (0 outside the image) for global input row
/// g = first_row + r = n·H + i and block shift (dy, dx) = (1, 0), (0, 0), (0, 1), (1, 1) for blocks 0…3. Writes pairs
/// first_pair … first_pair + pair_count − 1 (pair q: rows 2q and 2q + 1; C_in even) of `b`, laid out as
/// hae_gemm_bf16_multiply_prepacked reads it with panel_pairs = 2·C_in, zero past the chunk's columns. `input`:
/// (C_in, N, H, W). Needs AVX512-BF16.
void hae_subpixel_gather_bf16(const float *input, long channels, long batch, long height, long width, long first_row,
                              long row_count, long first_pair, long pair_count, uint16_t *b);

#ifdef __cplusplus
}
#endif
