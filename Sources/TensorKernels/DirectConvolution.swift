/// Direct convolution for layers with very few output channels (the model's `head`, 32 → 3): a GEMM with
/// M = 3 runs far below peak and its im2col matrix is 9× the input, while shifted row updates
/// (`out[co, i, :] += w · in[ci, i+u−p, :+v−p]`) vectorize along the row and touch the input once per tap.
enum DirectConvolution {
    static let maximumOutputChannels = 4

    /// Stride 1, "same" padding (`p = k/2`), no bias (the epilogue adds it).
    ///
    /// - Parameters:
    ///   - input: `(C_in, N, H, W)`.
    ///   - weight: `(C_out, C_in, k, k)`.
    ///   - output: `(C_out, N, H, W)`, overwritten.
    static func sameStrideOne(input: UnsafePointer<Float>, shape: FeatureShape, weight: UnsafePointer<Float>,
                              outChannels: Int, kernel: Int, output: UnsafeMutablePointer<Float>) {
        let height = shape.height, width = shape.width, plane = shape.plane, padding = kernel / 2
        // One output row at a time, accumulated in L1 over every input channel and tap, so each input row
        // is read from L2 `k` times instead of the whole plane being streamed once per (c_in, tap).
        for co in 0..<outChannels {
            for n in 0..<shape.batch {
                let target = output + (co &* shape.batch &+ n) &* plane
                for i in 0..<height {
                    let row = target + i &* width
                    row.update(repeating: 0, count: width)
                    for ci in 0..<shape.channels {
                        let source = input + (ci &* shape.batch &+ n) &* plane
                        let taps = weight + (co &* shape.channels &+ ci) &* kernel &* kernel
                        for u in 0..<kernel {
                            let y = i &+ u &- padding
                            guard y >= 0 && y < height else { continue }
                            let from = source + y &* width
                            if kernel == 3 && width >= 2 {
                                // All three taps of the row in one pass: one load/store of the output per 3 FMAs.
                                let w0 = taps[u &* 3], w1 = taps[u &* 3 &+ 1], w2 = taps[u &* 3 &+ 2]
                                row[0] += w1 * from[0] + w2 * from[1]
                                for j in 1..<(width &- 1) {
                                    row[j] += w0 * from[j &- 1] + w1 * from[j] + w2 * from[j &+ 1]
                                }
                                row[width &- 1] += w0 * from[width &- 2] + w1 * from[width &- 1]
                                continue
                            }
                            for v in 0..<kernel {
                                let w = taps[u &* kernel &+ v]
                                // Output columns j whose source column j+v−p exists.
                                let jLow = max(0, padding &- v), jHigh = min(width, width &+ padding &- v)
                                let shifted = from + (v &- padding)
                                for j in jLow..<jHigh { row[j] += w * shifted[j] }
                            }
                        }
                    }
                }
            }
        }
    }
}
