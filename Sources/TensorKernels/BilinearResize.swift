import CGEMMKernel

/// Bilinear resize identical to PyTorch's `F.interpolate(mode="bilinear", align_corners=False)` (docs/model.md §9):
/// the source coordinate of output index `d` is `(d + ½)·(in/out) − ½`, clamped at 0, with the neighbour
/// index clamped at the edge. Used for the skip resizes (19→20, 38→40, 75→80) and the final 160→150.
///
/// ```swift
/// BilinearResize.resize(input: f3, shape: s, output: skip, outHeight: 20, outWidth: 20)
/// ```
public enum BilinearResize {
    /// Interpolation taps along one axis: for each output index, the two source indices and their weights.
    /// Computed once per call (`O(out)`).
    struct Taps {
        var low: [Int], high: [Int], lowWeight: [Float], highWeight: [Float]

        init(inputSize: Int, outputSize: Int) {
            let scale = Float(inputSize) / Float(outputSize)
            low = []; high = []; lowWeight = []; highWeight = []
            for d in 0..<outputSize {
                let source = max(scale * (Float(d) + 0.5) - 0.5, 0)
                let index = Int(source)
                let lambda = source - Float(index)
                low.append(index)
                high.append(index < inputSize - 1 ? index + 1 : index)
                lowWeight.append(1 - lambda)
                highWeight.append(lambda)
            }
        }

        /// The taps as `hae_resize.h` reads them (32-bit indices; sizes are the model's, far below 2³¹).
        func withTaps<R>(_ body: (UnsafePointer<hae_bilinear_taps>) -> R) -> R {
            let low32 = low.map { Int32($0) }, high32 = high.map { Int32($0) }
            return low32.withUnsafeBufferPointer { l in high32.withUnsafeBufferPointer { h in
                lowWeight.withUnsafeBufferPointer { lw in highWeight.withUnsafeBufferPointer { hw in
                    var taps = hae_bilinear_taps(low: l.baseAddress, high: h.baseAddress, low_weight: lw.baseAddress,
                                                 high_weight: hw.baseAddress)
                    return body(&taps)
                }}
            }}
        }
    }

    /// Whether this CPU runs the AVX-512 loop (checked once).
    public static let vectorizedAvailable = hae_resize_available() == 1

    /// - Parameters:
    ///   - input: `(C, N, H, W)`.
    ///   - output: `(C, N, outHeight, outWidth)`; may be a slice of a larger concat buffer.
    ///   - threads: how many threads to split the planes across (see ``ScratchBuffer/threads``).
    ///   - vectorized: run CGEMMKernel's AVX-512 loop (`hae_resize.h`, the same arithmetic) where the CPU has it;
    ///     tests pass false to check this file's loop against it.
    public static func resize(input: UnsafePointer<Float>, shape: FeatureShape,
                              output: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int, threads: Int = 1,
                              vectorized: Bool = BilinearResize.vectorizedAvailable) {
        let rows = Taps(inputSize: shape.height, outputSize: outHeight)
        let cols = Taps(inputSize: shape.width, outputSize: outWidth)
        let planes = shape.channels * shape.batch
        if vectorized && vectorizedAvailable {
            rows.withTaps { rowTaps in
                cols.withTaps { colTaps in
                    Parallel.forEach(planes, parts: threads) { _, range in
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * outWidth + 32) { cache in
                            hae_resize_bilinear(input + range.lowerBound * shape.plane, shape.width, range.count,
                                                shape.plane, output + range.lowerBound * outHeight * outWidth,
                                                outHeight, outWidth, rowTaps, colTaps, cache.baseAddress!)
                        }
                    }
                }
            }
            return
        }
        rows.low.withUnsafeBufferPointer { rowLow in
        rows.high.withUnsafeBufferPointer { rowHigh in
        rows.lowWeight.withUnsafeBufferPointer { rowLowWeight in
        rows.highWeight.withUnsafeBufferPointer { rowHighWeight in
        cols.low.withUnsafeBufferPointer { colLow in
        cols.high.withUnsafeBufferPointer { colHigh in
        cols.lowWeight.withUnsafeBufferPointer { colLowWeight in
        cols.highWeight.withUnsafeBufferPointer { colHighWeight in
            Parallel.forEach(planes, parts: threads) { _, range in
                // Each needed input row interpolated along x once, into one of two cached rows (outWidth each):
                // rowLow/rowHigh never decrease with y, so the pair slides down the image.
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * outWidth) { cache in
                    var upper = cache.baseAddress!, lower = upper + outWidth
                    for p in range {
                        let source = input + p &* shape.plane
                        var destination = output + p &* outHeight &* outWidth
                        var upperRow = -1, lowerRow = -1                 // input rows held in upper / lower
                        @inline(__always) func interpolate(_ row: Int, into target: UnsafeMutablePointer<Float>) {
                            let from = source + row &* shape.width
                            for x in 0..<outWidth {
                                target[x] = colLowWeight[x] * from[colLow[x]] + colHighWeight[x] * from[colHigh[x]]
                            }
                        }
                        for y in 0..<outHeight {
                            let low = rowLow[y], high = rowHigh[y]
                            if low != upperRow {
                                if low == lowerRow {
                                    swap(&upper, &lower)
                                    swap(&upperRow, &lowerRow)
                                } else {
                                    interpolate(low, into: upper)
                                    upperRow = low
                                }
                            }
                            if high != lowerRow {
                                interpolate(high, into: lower)
                                lowerRow = high
                            }
                            // PyTorch's order: wTop·(x-interpolated top) + wBottom·(x-interpolated bottom).
                            let wTop = rowLowWeight[y], wBottom = rowHighWeight[y]
                            for x in 0..<outWidth { destination[x] = wTop * upper[x] + wBottom * lower[x] }
                            destination += outWidth
                        }
                    }
                }
            }
        }}}}}}}}
    }
}
