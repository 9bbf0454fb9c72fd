// hae_conv3x3.h — the model's `head` convolution (Conv(C_in → 3, 3×3, stride 1, padding 1), no bias) in AVX-512,
// AVX2 + FMA or plain C, whichever this CPU runs (chosen once, at the first call).
//
// Why: TensorKernels' Swift version (DirectConvolution.threeChannels3x3) is compiled for AVX2 and took ~0.77 ms
// per 160×160 image of a ~19 ms bf16 pass. The AVX-512 version keeps two output rows × 16 columns × the three
// output channels (six vectors) in registers across every input channel and tap: each input row vector loaded
// serves both output rows, the borders come from masked loads instead of a scalar loop.
//
// Layouts are the engine's: input (C_in, N, H, W), weight PyTorch's (3, C_in, 3, 3), output (3, N, H, W). Each
// output value is summed in one fixed order (input channel, then kernel row, then kernel column, ascending, each
// product fused into the sum), whatever the thread split or the path — the order of the Swift version.
//
// ```c
// // rows g = n·H + i of the batch, split across two threads:
// hae_conv3x3_to3(x, 32, n, 160, 160, w, y, 0, n * 160 / 2);             // thread 0
// hae_conv3x3_to3(x, 32, n, 160, 160, w, y, n * 160 / 2, n * 160);       // thread 1
// ```
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/// Writes output rows g ∈ [row_begin, row_end) of the batch's N·H rows (g = n·H + i: row i of image n) of all three
/// output channels; other rows are untouched, so threads may split [0, N·H) between them.
///
/// Returns 0, or −1 (writing nothing) when a size is negative, N·H·W overflows a long, or the row range is not
/// inside [0, N·H).
int hae_conv3x3_to3(const float *input, long channels, long batch, long height, long width, const float *weight,
                    float *output, long row_begin, long row_end);

#ifdef __cplusplus
}
#endif
