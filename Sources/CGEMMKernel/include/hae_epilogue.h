// hae_epilogue.h — a convolution's elementwise epilogue, `to[i] = act(from[i] + bias)`, in AVX-512, AVX2 + FMA or
// plain C, whichever this CPU runs (chosen once, at the first call).
//
// Why: the Swift kernels are compiled for AVX2 (`-target-cpu haswell`), so the exact GELU after every convolution —
// a rational erf with a division per element — ran at half the vector width this machine has; in `histoae bench`
// profiles the epilogue was several % of the pass. Here the same formulas run 16 lanes wide with a masked tail.
//
// The formulas are TensorKernels' (Activations.swift), with the same constants and clamps: GELU is
// x·½(1 + erf(x/√2)) with Eigen's rational erf on [−4, 4]; tanh is Eigen's rational tanh on ±7.905311107635498, x
// itself below |x| < 0.0004. The operations run in Swift's order and unfused, so every path's results are
// bit-identical to the Swift formulas' (NaN stays NaN; ±∞ and huge values saturate as the clamps make them).
//
// ```c
// for (long c = 0; c < channels; c++)                             // a (C, N·H·W) buffer, in place
//     hae_epilogue_apply(HAE_ACTIVATION_GELU, values + c * stride, values + c * stride, stride, bias[c]);
// ```
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/// The activations of an epilogue (values equal Swift's `Activation` order).
enum { HAE_ACTIVATION_IDENTITY = 0, HAE_ACTIVATION_GELU = 1, HAE_ACTIVATION_TANH = 2 };

/// to[i] = act(from[i] + bias) for i < count; `from` may equal `to`. Chooses AVX-512 / AVX2+FMA / plain C at run time.
void hae_epilogue_apply(int activation, const float *from, float *to, long count, float bias);

#ifdef __cplusplus
}
#endif
