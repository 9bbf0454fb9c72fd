// hae_winograd.h — the input and output transforms of Winograd F(4×4, 3×3) (TensorKernels' WinogradConv3x3) in
// AVX-512, sixteen tiles per vector, and an input transform that writes bf16 straight into the packed B panels of
// hae_gemm_bf16_multiply_prepacked.
//
// Why: with the GEMMs at bf16 (twice as fast), the transforms — Swift compiled for AVX2, four tiles per step and a
// 4 × 4 transpose per step — were a fifth of the forward pass. Here each input row is transformed along its
// width first (stride-4 columns gathered by two VPERMT2PS per vector), then down the six rows of a tile row
// (contiguous over tiles); the products are transformed down the tile first, then along it. A vector's 16 tiles run
// on from one tile row into the next (fuse1's rows are 5 tiles, fuse2's 10: one vector per tile row left most
// lanes idle).
//
// Layouts (all row-major, as in Winograd.swift): the feature map is (C, N, H, W); a chunk is `row_count` global
// tile rows g = n·tiles_high + ty starting at `first_row`, its tiles numbered t = r·tiles_wide + tx (r = g −
// first_row); V is (36, C_in, stride) float, V[ξ, c, t] at v[(ξ·C_in + c)·stride + t]; M likewise (36, C_out,
// stride). The packed bf16 V is, per ξ, hae_gemm_bf16_packed_b_count(count, C_in) uint16 with count =
// row_count·tiles_wide: (⌈count/32⌉ tiles, C_in/2 pairs, 32 columns, 2) — column t of pair p holds
// (bf16 V[ξ, 2p, t], bf16 V[ξ, 2p + 1, t]); columns past `count` are zero.
//
// Arithmetic: V = Bᵀ d B and Y = Aᵀ M A with the interpolation points 0, ±1, ±2, ∞ (Lavin & Gray 2016); the same
// formulas as Winograd.swift's inputTransform/outputTransform, applied in the other order for V (along the row,
// then down), so values agree with the Swift transforms to float rounding (~1e-7 relative).
//
// ```c
// hae_winograd_geometry g = {.channels = 128, .batch = 1, .height = 80, .width = 80, .tiles_high = 20,
//                            .tiles_wide = 20, .first_row = 0, .row_count = 20};
// float *scratch = malloc(sizeof(float) * hae_winograd_scratch_count(&g));
// hae_winograd_input_f32(x, 0, 128, &g, v, 400, scratch);          // v: (36, 128, 400)
// ```
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One call's feature map and chunk of tile rows.
typedef struct {
    /// Channels of the map transformed: C_in for the input transform, C_out for the output transform.
    long channels;
    /// The feature map (C, N, H, W) read (input transform) or written (output transform).
    long batch, height, width;
    /// ⌈H/4⌉ and ⌈W/4⌉.
    long tiles_high, tiles_wide;
    /// Global tile rows first_row … first_row + row_count − 1.
    long first_row, row_count;
} hae_winograd_geometry;

/// 1 when this CPU runs these transforms (AVX-512F; checked at run time).
int hae_winograd_available(void);

/// Floats of per-thread scratch every transform of this geometry needs (64-byte alignment not required).
long hae_winograd_scratch_count(const hae_winograd_geometry *geometry);

/// V[ξ, c, t] for channels first_channel … first_channel + channel_count − 1 of `input` (C_in, N, H, W), into
/// v (36, C_in, stride) float at tile columns 0 … count − 1.
void hae_winograd_input_f32(const float *input, long first_channel, long channel_count,
                            const hae_winograd_geometry *geometry, float *v, long stride, float *scratch);

/// The same for channel pairs first_pair … first_pair + pair_count − 1 (channels 2p, 2p + 1; C_in even), rounded to
/// bf16 (to nearest even, as VCVTNE2PS2BF16) into the packed panels `b` (36 × hae_gemm_bf16_packed_b_count(count,
/// C_in) uint16, 64-byte aligned); each call also zeroes its pairs' columns past count. Needs AVX512-BF16.
void hae_winograd_input_bf16(const float *input, long first_pair, long pair_count,
                             const hae_winograd_geometry *geometry, uint16_t *b, float *scratch);

/// Y = Aᵀ M A for output channels first_channel … first_channel + channel_count − 1 of m (36, C_out, stride),
/// written to `output` (C_out, N, H, W) as act(Y + bias[co]) (`activation` a HAE_ACTIVATION_* of hae_epilogue.h;
/// bias may be NULL for none); only the rows and columns inside the map.
void hae_winograd_output(const float *m, long first_channel, long channel_count, long stride,
                         const hae_winograd_geometry *geometry, const float *bias, int activation,
                         float *output, float *scratch);

#ifdef __cplusplus
}
#endif
