/// The register-blocked form of ``DirectConvolution`` for the model's `head` (docs/model.md §11, D4: Conv(32→3, k 3,
/// s 1, p 1) on 160×160): 3×3, stride 1, padding 1, exactly three output channels. Each block of 16 output
/// columns of one row keeps all three channels' sums in registers across every input channel and tap, so an
/// input vector is loaded once for three FMAs and the output is stored once, instead of once per tap.
extension DirectConvolution {
    /// Output columns per vector block.
    static let blockWidth = 16

    /// Stride 1, padding 1, 3×3, three output channels, no bias (the epilogue adds it).
    ///
    /// - Parameters:
    ///   - input: `(C_in, N, H, W)`.
    ///   - weight: `(3, C_in, 3, 3)`.
    ///   - output: `(3, N, H, W)`, overwritten.
    ///   - threads: how many threads to split the output rows across.
    static func threeChannels3x3(input: UnsafePointer<Float>, shape: FeatureShape, weight: UnsafePointer<Float>,
                                 output: UnsafeMutablePointer<Float>, threads: Int) {
        let height = shape.height, width = shape.width, plane = shape.plane, channels = shape.channels
        let channelStride = shape.batch &* plane                 // input (c, n) plane c·N·H·W apart
        let outStride = shape.batch &* plane                     // output channels likewise
        let tapStride = channels &* 9                            // weight of output channel co + 1
        Parallel.forEach(shape.batch &* height, parts: threads) { _, globalRows in
            for g in globalRows {                                // g = n·H + i
                let n = g / height, i = g &- n &* height
                // Kernel rows u whose input row i + u − 1 lies inside the image.
                let uLow = i == 0 ? 1 : 0, uHigh = i == height &- 1 ? 2 : 3
                let source = input + (n &* plane &+ (i &- 1) &* width)   // row i − 1 of channel 0
                let target = output + (n &* plane &+ i &* width)
                if width >= blockWidth &+ 2 {
                    // Interior blocks [j, j + 16) with 1 ≤ j and j + 16 ≤ W − 1; the last one may overlap.
                    var j = 1
                    while true {
                        var a0 = Vector16(), a1 = Vector16(), a2 = Vector16()
                        for c in 0..<channels {
                            let taps = weight + c &* 9
                            let rows = source + c &* channelStride
                            for u in uLow..<uHigh {
                                let row = UnsafePointer(rows + (u &* width &+ j &- 1))
                                let x0 = row.load16(), x1 = (row + 1).load16(), x2 = (row + 2).load16()
                                let w0 = taps + u &* 3, w1 = w0 + tapStride, w2 = w1 + tapStride
                                a0 = a0.addingProduct(x0, w0[0]).addingProduct(x1, w0[1]).addingProduct(x2, w0[2])
                                a1 = a1.addingProduct(x0, w1[0]).addingProduct(x1, w1[1]).addingProduct(x2, w1[2])
                                a2 = a2.addingProduct(x0, w2[0]).addingProduct(x1, w2[1]).addingProduct(x2, w2[2])
                            }
                        }
                        (target + j).store(a0)
                        (target + (outStride &+ j)).store(a1)
                        (target + (2 &* outStride &+ j)).store(a2)
                        if j &+ blockWidth >= width &- 1 { break }
                        j = min(j &+ blockWidth, width &- 1 &- blockWidth)
                    }
                    for co in 0..<3 {
                        target[co &* outStride] = column(0, source: source, uLow: uLow, uHigh: uHigh, shape: shape,
                                                         taps: weight + co &* tapStride)
                        target[co &* outStride &+ width &- 1] = column(width &- 1, source: source, uLow: uLow, uHigh: uHigh,
                                                                        shape: shape, taps: weight + co &* tapStride)
                    }
                } else {
                    for co in 0..<3 {
                        for j in 0..<width {
                            target[co &* outStride &+ j] = column(j, source: source, uLow: uLow, uHigh: uHigh, shape: shape,
                                                                   taps: weight + co &* tapStride)
                        }
                    }
                }
            }
        }
    }

    /// One output value at column `j`, with the bounds checks the vector blocks avoid.
    /// `source` is row `i − 1` of channel 0; `taps` is one output channel's `(C_in, 3, 3)`.
    @inline(__always)
    private static func column(_ j: Int, source: UnsafePointer<Float>, uLow: Int, uHigh: Int, shape: FeatureShape,
                               taps: UnsafePointer<Float>) -> Float {
        let width = shape.width, channelStride = shape.batch &* shape.plane
        let vLow = j == 0 ? 1 : 0, vHigh = j == width &- 1 ? 2 : 3
        var sum: Float = 0
        for c in 0..<shape.channels {
            for u in uLow..<uHigh {
                let row = source + (c &* channelStride &+ u &* width &+ j &- 1)
                for v in vLow..<vHigh { sum = sum.addingProduct(row[v], taps[c &* 9 &+ u &* 3 &+ v]) }
            }
        }
        return sum
    }
}
