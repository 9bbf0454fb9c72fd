import CGEMMKernel
import Testing
import TensorKernels

/// CGEMMKernel's `hae_conv3x3_to3` (the head's Conv(C_in → 3, 3×3, s 1, p 1), the path this CPU runs) against a
/// naive loop over the definition, on odd sizes: widths below, at and across the 16- and 8-column vector blocks,
/// single-row images and batches whose row pairs straddle two images.
@Suite("hae_conv3x3_to3 equals the naive convolution")
struct CConv3x3Tests {
    /// `(3, N, H, W)` from input `(C, N, H, W)` and weight `(3, C, 3, 3)`, zero padding, summed in Double.
    static func naive(_ x: [Float], channels: Int, batch: Int, height: Int, width: Int, _ w: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: 3 * batch * height * width)
        x.withUnsafeBufferPointer { x in
            for co in 0..<3 { for n in 0..<batch { for i in 0..<height { for j in 0..<width {
                var sum = 0.0
                for c in 0..<channels { for u in 0..<3 { for v in 0..<3 {
                    let y = i + u - 1, z = j + v - 1
                    guard y >= 0, y < height, z >= 0, z < width else { continue }
                    sum += Double(x[((c * batch + n) * height + y) * width + z]) * Double(w[((co * channels + c) * 3 + u) * 3 + v])
                }}}
                out[((co * batch + n) * height + i) * width + j] = Float(sum)
            }}}}
        }
        return out
    }

    /// (C_in, N, H, W).
    @Test("random input, odd sizes", arguments: [
        (5, 1, 7, 5), (3, 2, 7, 5), (32, 2, 160, 160), (4, 1, 1, 1), (4, 3, 1, 17), (6, 2, 5, 1), (2, 1, 2, 16),
        (7, 2, 9, 33), (5, 3, 3, 15), (6, 1, 40, 18), (1, 2, 4, 2),
    ])
    func matchesNaive(channels: Int, batch: Int, height: Int, width: Int) {
        var rng = SplitMix64(seed: UInt64(channels * 1_000_000 + batch * 10_000 + height * 100 + width))
        let x = (0..<(channels * batch * height * width)).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(3 * channels * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.3 }
        let want = Self.naive(x, channels: channels, batch: batch, height: height, width: width, w)
        let rows = batch * height
        // The whole range at once, then the same rows in three uneven calls (odd boundaries split row pairs).
        let splits: [[Int]] = [[0, rows], [0, rows / 3, rows / 3 + max(1, rows / 2) | 1, rows].map { min($0, rows) }]
        var results: [[Float]] = []
        for bounds in splits {
            var out = [Float](repeating: .nan, count: 3 * rows * width)
            for (begin, end) in zip(bounds, bounds.dropFirst()) {
                let status = out.withUnsafeMutableBufferPointer { o in
                    hae_conv3x3_to3(x, channels, batch, height, width, w, o.baseAddress!, begin, end)
                }
                #expect(status == 0)
            }
            #expect(!out.contains { $0.isNaN }, "every output written")
            var worst: Float = 0
            for i in out.indices { worst = max(worst, abs(out[i] - want[i])) }
            #expect(worst <= 2e-5, "max abs difference \(worst) for split \(bounds)")
            results.append(out)
        }
        #expect(results[0].elementsEqual(results[1]) { $0.bitPattern == $1.bitPattern }, "the thread split changes no bit")
    }

    @Test("rows outside [row_begin, row_end) stay untouched")
    func rowRange() {
        let (channels, batch, height, width) = (3, 2, 5, 20)
        let x = [Float](repeating: 1, count: channels * batch * height * width)
        let w = [Float](repeating: 1, count: 3 * channels * 9)
        var out = [Float](repeating: .nan, count: 3 * batch * height * width)
        let status = out.withUnsafeMutableBufferPointer { hae_conv3x3_to3(x, channels, batch, height, width, w, $0.baseAddress!, 4, 7) }
        #expect(status == 0)
        for co in 0..<3 { for g in 0..<(batch * height) {
            let row = out[((co * batch * height) + g) * width ..< ((co * batch * height) + g + 1) * width]
            #expect((4..<7).contains(g) ? !row.contains { $0.isNaN } : row.allSatisfy { $0.isNaN }, "channel \(co) row \(g)")
        }}
    }

    @Test("bad sizes and row ranges are refused before anything is read or written")
    func refusals() {
        let x = [Float](repeating: 1, count: 64), w = [Float](repeating: 1, count: 54)
        var out = [Float](repeating: .nan, count: 64)
        let cases: [(Int, Int, Int, Int, Int, Int)] = [
            (-1, 1, 2, 2, 0, 2), (2, -1, 2, 2, 0, 2), (2, 1, -2, 2, 0, 2), (2, 1, 2, -2, 0, 2),   // negative sizes
            (2, 1, 2, 2, -1, 1), (2, 1, 2, 2, 1, 3), (2, 1, 2, 2, 2, 1),                        // rows outside / reversed
            (2, Int.max / 2, 3, 3, 0, 1), (Int.max / 4, 1, 2, 2, 0, 1),                         // N·H·W, C·N·H·W overflow
        ]
        for (c, n, h, wd, begin, end) in cases {
            let status = out.withUnsafeMutableBufferPointer { hae_conv3x3_to3(x, c, n, h, wd, w, $0.baseAddress!, begin, end) }
            #expect(status == -1, "C \(c) N \(n) H \(h) W \(wd) rows \(begin)..<\(end)")
        }
        #expect(out.allSatisfy { $0.isNaN })
    }
}
