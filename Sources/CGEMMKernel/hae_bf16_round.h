// hae_bf16_round.h — private to CGEMMKernel: float → bfloat16 in plain C, shared by the packers of both bf16 kernels'
// weights (hae_gemm_bf16.c, hae_gemm_amx.c).
#pragma once
#include <stdint.h>
#include <string.h>

/// float → bf16, to nearest with ties to even; a NaN stays a (quiet) NaN rather than rounding into infinity.
/// Equal to VCVTNE2PS2BF16's result (what B gets) on all 2³² floats but the denormals, which it keeps and the
/// hardware flushes (VDPBF16PS and TDPBF16PS read bf16 denormals as zero, so the products agree).
static inline uint16_t hae_bf16_from_float(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((bits >> 16) | 0x0040u);
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}
