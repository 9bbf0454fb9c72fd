// hae_transposed_winograd.h — the input and output transforms of TensorKernels' TransposedWinograd: the decoder's
// 3×3 stride-2 transposed convolutions (padding 1, output padding 1; docs/model.md §5) as 25 GEMMs of depth C_in
// per 2×2 block of input pixels instead of 36 (the sub-pixel form's 9 taps per pixel), in AVX-512 with a plain C
// twin chosen at run time.
//
// Why: the sub-pixel form's four parity GEMMs were ~22 % of a bf16 forward pass, the largest part after the
// Winograd fuse layers. Along one axis, input pixels (x0, x1) and the next one x2 give four outputs
//     o0 = w1·x0,   o1 = w2·x0 + w0·x1,   o2 = w1·x1,   o3 = w2·x1 + w0·x2
// (w_u = tap u; o1, o3 are the odd outputs). With the five products
//     P0 = w1·x0,  P1 = w1·x1,  P2 = w2·(x0 − x1),  P3 = (w2 + w0)·x1,  P4 = w0·(x2 − x1)
// they are o0 = P0, o1 = P2 + P3, o2 = P1, o3 = P3 + P4: 5 multiplies for 4 outputs instead of 6 (Winograd's
// F(2, 2) on the odd outputs). In 2-D the products are the 5 × 5 outer combinations, 25 for a 4 × 4 block of
// outputs instead of 36. Every transform is additions only, so float32 results stay within rounding of the
// sub-pixel form's.
//
// The five products read four distinct transformed inputs per axis (r: x0, x1, x0 − x1, x2 − x1; products 1 and 3
// share x1), so 16 transformed input matrices feed the 25 GEMMs.
//
// Layouts: the input map is (C_in, N, H, W); tiles are 2 × 2 input pixels, ⌈H/2⌉ × ⌈W/2⌉ an image (pixels past the
// map read as zero); a chunk is `row_count` global tile rows g = n·⌈H/2⌉ + a from `first_row`, its tiles numbered
// t = (g − first_row)·⌈W/2⌉ + b. Transformed input (ry, rx) (combination 4·ry + rx) of channel c at tile t is
// D_ry(rows) of D_rx(columns) of the tile's pixels: along the row first, then down. The output map is
// (C_out, N, 2H, 2W).
//
// ```c
// hae_transposed_winograd_geometry g = {.batch = 1, .height = 80, .width = 80, .first_row = 0, .row_count = 40};
// hae_transposed_winograd_input_f32(x, 64, 0, 64, &g, b, 1600);     // b: (16, 64, 1600)
// // … 25 GEMMs: product k (32, 1600) = G_k (32, 64) · b[hae_transposed_winograd_combination(k)], written as rows
// // (co, k) of products (32, 25, 1600): C at products + k·1600, ldc 25·1600; offsets[k] = k·1600 …
// hae_transposed_winograd_output(products, offsets, 25 * 1600, 32, 0, 32, bias, &g, y);   // y: (32, 1, 160, 160)
// ```
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The input map's batch and size, and the chunk of tile rows one call covers.
typedef struct {
    long batch, height, width;
    /// Global tile rows first_row … first_row + row_count − 1 (of batch·⌈H/2⌉).
    long first_row, row_count;
} hae_transposed_winograd_geometry;

/// Which transformed input (4·ry + rx) product k = 5·i + j reads: axis index i ↦ r = 0, 1, 2, 1, 3.
static inline int hae_transposed_winograd_combination(int k) {
    static const int axis[5] = {0, 1, 2, 1, 3};
    return 4 * axis[k / 5] + axis[k % 5];
}

/// Transformed inputs of channels first_channel … + channel_count − 1 of `input` (C_in = channels) into
/// `b` (16, C_in, ldb) float: b[(4·ry + rx)·C_in + c)·ldb + t]; tiles 0 … row_count·⌈W/2⌉ − 1 written.
void hae_transposed_winograd_input_f32(const float *input, long channels, long first_channel, long channel_count,
                                       const hae_transposed_winograd_geometry *geometry, float *b, long ldb);

/// The same into packed float B panels for hae_gemm_multiply_prepacked: combination m's panels at `b + m·stride`
/// floats, (⌈count/32⌉, C_in, 32) with count = row_count·⌈W/2⌉, zero past count; stride ≥
/// hae_gemm_packed_b_count(count, C_in). Needs AVX-512F (hae_gemm_available()).
void hae_transposed_winograd_input_f32_packed(const float *input, long channels, long first_channel,
                                              long channel_count, const hae_transposed_winograd_geometry *geometry,
                                              float *b, long stride);

/// The same for channel pairs first_pair … + pair_count − 1 (channels 2p, 2p + 1; C_in even), rounded to bf16 (to
/// nearest even, as VCVTNE2PS2BF16) into packed B panels for hae_gemm_bf16_multiply_prepacked: combination m's
/// panels at `b + m·stride` uint16, (⌈count/32⌉, C_in/2, 32, 2) with count = row_count·⌈W/2⌉, zero past count;
/// stride = hae_gemm_bf16_packed_b_count(count, C_in). Needs AVX512-BF16 (hae_gemm_bf16_available()).
void hae_transposed_winograd_input_bf16(const float *input, long channels, long first_pair, long pair_count,
                                        const hae_transposed_winograd_geometry *geometry, uint16_t *b, long stride);

/// output[co, n, 4a + p, 4b + q] = bias[co] + Σ products, for output channels first_channel … + channel_count − 1
/// (C_out = channels): product k of channel co at tile t is products[offsets[k] + co·ldp + t]. Rows and columns past
/// 2H, 2W are not written. `output`: (C_out, N, 2H, 2W).
void hae_transposed_winograd_output(const float *products, const long *offsets, long ldp, long channels,
                                    long first_channel, long channel_count, const float *bias,
                                    const hae_transposed_winograd_geometry *geometry, float *output);

/// The plain C versions of hae_transposed_winograd_input_f32 and hae_transposed_winograd_output, which the
/// dispatching functions call where the CPU lacks AVX-512F: the same operations in the same order, so the same
/// bits (tests compare the two on any CPU).
void hae_transposed_winograd_input_f32_plain(const float *input, long channels, long first_channel,
                                             long channel_count, const hae_transposed_winograd_geometry *geometry,
                                             float *b, long ldb);
void hae_transposed_winograd_output_plain(const float *products, const long *offsets, long ldp, long channels,
                                          long first_channel, long channel_count, const float *bias,
                                          const hae_transposed_winograd_geometry *geometry, float *output);

#ifdef __cplusplus
}
#endif
