import CGEMMKernel

/// The register-blocked form of ``DirectConvolution`` for the model's `head` (docs/model.md §11, D4: Conv(32→3, k 3,
/// s 1, p 1) on 160×160): 3×3, stride 1, padding 1, exactly three output channels. The loops are CGEMMKernel's
/// `hae_conv3x3_to3` (AVX-512 where the CPU has it — these Swift kernels are compiled for AVX2 — else AVX2 + FMA,
/// else plain C): each block of 16 columns × two rows keeps all three channels' sums in registers across every
/// input channel and tap, so an input vector is loaded once for up to six FMAs and the output is stored once.
///
/// ```swift
/// DirectConvolution.threeChannels3x3(input: x, shape: shape, weight: w, output: y, threads: 2)
/// ```
extension DirectConvolution {
    /// Stride 1, padding 1, 3×3, three output channels, no bias (the epilogue adds it).
    ///
    /// - Parameters:
    ///   - input: `(C_in, N, H, W)`.
    ///   - weight: `(3, C_in, 3, 3)`.
    ///   - output: `(3, N, H, W)`, overwritten.
    ///   - threads: how many threads to split the output rows (`n·H + i`) across.
    static func threeChannels3x3(input: UnsafePointer<Float>, shape: FeatureShape, weight: UnsafePointer<Float>,
                                 output: UnsafeMutablePointer<Float>, threads: Int) {
        Parallel.forEach(shape.batch &* shape.height, parts: threads) { _, globalRows in
            let status = hae_conv3x3_to3(input, shape.channels, shape.batch, shape.height, shape.width, weight, output,
                                         globalRows.lowerBound, globalRows.upperBound)
            // Only a negative size or an overflowing N·H·W is refused, and those buffers could not exist.
            precondition(status == 0, "hae_conv3x3_to3 refused \(shape)")
        }
    }
}
