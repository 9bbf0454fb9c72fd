import Testing
import TensorKernels

@Suite("Winograd F(4×4, 3×3)")
struct WinogradTests {
    /// Direct 3×3 "same" convolution in Double, `(C, N, H, W)` layout: the definition (docs/model.md §4).
    static func reference(_ x: [Float], _ shape: FeatureShape, _ w: [Float], outChannels: Int) -> [Float] {
        let (h, wd, n, cin) = (shape.height, shape.width, shape.batch, shape.channels)
        var out = [Float](repeating: 0, count: outChannels * n * h * wd)
        for co in 0..<outChannels { for b in 0..<n { for i in 0..<h { for j in 0..<wd {
            var sum = 0.0
            for ci in 0..<cin { for u in 0..<3 { for v in 0..<3 {
                let y = i + u - 1, xx = j + v - 1
                guard y >= 0, y < h, xx >= 0, xx < wd else { continue }
                sum += Double(w[((co * cin + ci) * 3 + u) * 3 + v]) * Double(x[((ci * n + b) * h + y) * wd + xx])
            }}}
            out[((co * n + b) * h + i) * wd + j] = Float(sum)
        }}}}
        return out
    }

    @Test("odd sizes, several chunks, equals direct convolution", arguments: [(7, 9, 2), (1, 1, 1), (10, 10, 3), (5, 2, 1), (20, 20, 1), (13, 18, 2)])
    func matchesDirect(height: Int, width: Int, batch: Int) {
        var rng = SplitMix64(seed: UInt64(height * 100 + width))
        let shape = FeatureShape(channels: 33, batch: batch, height: height, width: width)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(34 * 33 * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.2 }
        let conv = WinogradConv3x3(weight: w, inChannels: 33, outChannels: 34)
        var out = [Float](repeating: .nan, count: 34 * batch * height * width)
        let want = Self.reference(x, shape, w, outChannels: 34)
        for threads in [1, 2] {
            var scratch = ScratchBuffer(chunkLimit: 1)     // smallest chunks: one tile row each
            scratch.minimumColumns = 1
            scratch.threads = threads
            x.withUnsafeBufferPointer { xs in
                out.withUnsafeMutableBufferPointer { conv.forward(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!, scratch: &scratch) }
            }
            var worst: Float = 0
            for i in out.indices { worst = max(worst, abs(out[i] - want[i])) }
            #expect(!out.contains { $0.isNaN }, "every output written")
            #expect(worst <= 2e-5, "max abs difference \(worst) on \(threads) threads")
        }
    }

    @Test("fused bias + GELU epilogue equals the separate epilogue pass", arguments: [(9, 7, 2), (16, 16, 1), (20, 20, 2)])
    func fusedEpilogue(height: Int, width: Int, batch: Int) {
        var rng = SplitMix64(seed: UInt64(height * 7 + width))
        let shape = FeatureShape(channels: 32, batch: batch, height: height, width: width)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(40 * 32 * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.2 }
        let bias = (0..<40).map { _ in rng.nextUniform() - 0.5 }
        let conv = WinogradConv3x3(weight: w, inChannels: 32, outChannels: 40)
        var fused = [Float](repeating: .nan, count: 40 * shape.batch * shape.plane)
        var separate = fused
        var scratch = ScratchBuffer(chunkLimit: 1)
        scratch.minimumColumns = 1
        x.withUnsafeBufferPointer { xs in
            fused.withUnsafeMutableBufferPointer {
                conv.forward(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!, bias: bias,
                             activation: .gelu, scratch: &scratch)
            }
            separate.withUnsafeMutableBufferPointer {
                conv.forward(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!, scratch: &scratch)
                Epilogue.apply(.gelu, values: $0.baseAddress!, bias: bias, channels: 40, channelStride: shape.batch * shape.plane)
            }
        }
        #expect(fused == separate)
    }
}
