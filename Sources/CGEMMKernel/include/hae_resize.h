// hae_resize.h — bilinear resizing of whole planes (PyTorch's `F.interpolate(mode="bilinear", align_corners=False)`)
// in AVX-512, for TensorKernels' BilinearResize, which computes the taps.
//
// Why: the skip resizes (19→20, 38→40, 75→80) and the final 160→150 read their source columns through a table;
// compiled for AVX2 the Swift loop did that one float at a time, ~3 % of a bf16 forward pass. Here 16 columns are
// picked at once from two loads by VPERMT2PS. Same arithmetic as the Swift loop (products summed, not fused), so the
// same bits.
//
// ```c
// hae_bilinear_taps rows = {row_low, row_high, row_low_weight, row_high_weight};   // out_h entries each
// hae_bilinear_taps cols = {col_low, col_high, col_low_weight, col_high_weight};   // out_w entries each
// hae_resize_bilinear(input, in_w, planes, in_plane, output, out_h, out_w, &rows, &cols, cache);
// ```
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// For each output index: its two source indices and their weights.
typedef struct {
    const int32_t *low, *high;
    const float *low_weight, *high_weight;
} hae_bilinear_taps;

/// 1 when this CPU runs hae_resize_bilinear (AVX-512F; checked at run time).
int hae_resize_available(void);

/// `planes` planes of `input` (each `in_plane` floats apart, rows `in_w` wide) to `output` (out_h × out_w each,
/// back to back): out[y][x] = rows.low_weight[y]·h(rows.low[y])[x] + rows.high_weight[y]·h(rows.high[y])[x] with
/// h(r)[x] = cols.low_weight[x]·in[r][cols.low[x]] + cols.high_weight[x]·in[r][cols.high[x]]. `cache`: 2·out_w + 32
/// floats. Only call when hae_resize_available() returned 1.
void hae_resize_bilinear(const float *input, long in_w, long planes, long in_plane, float *output, long out_h,
                         long out_w, const hae_bilinear_taps *rows, const hae_bilinear_taps *cols, float *cache);

#ifdef __cplusplus
}
#endif
