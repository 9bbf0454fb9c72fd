import Foundation
import Testing
import TensorKernels

@Suite("Resize, GELU and channel attention against PyTorch")
struct ElementwiseKernelTests {
    @Test("bilinear resize, align_corners=False", arguments: ["resize_up", "resize_down", "resize_odd", "resize_160", "resize_75"], [1, 2])
    func resize(_ name: String, threads: Int) {
        let want = KernelFixtures.tensor("\(name).output")
        let (outH, outW) = (want.shape[2], want.shape[3])
        let got = KernelFixtures.run(KernelFixtures.tensor("\(name).input"),
                                     outShape: { FeatureShape(channels: $0.channels, batch: $0.batch, height: outH, width: outW) }) { x, s, y in
            BilinearResize.resize(input: x, shape: s, output: y, outHeight: outH, outWidth: outW, threads: threads)
        }
        #expect(got.maxAbsDifference(want) <= 5e-6)
    }

    @Test("the AVX-512 resize gives the Swift loop's bits", .enabled(if: BilinearResize.vectorizedAvailable, "this CPU has no AVX-512F: only the Swift loop runs"),
          arguments: [(19, 19, 20, 20), (75, 75, 80, 80), (160, 160, 150, 150), (7, 33, 5, 17), (1, 1, 3, 40), (10, 100, 4, 20)])
    func vectorizedResize(_ sizes: (Int, Int, Int, Int)) {
        var rng = SplitMix64(seed: UInt64(sizes.0 * 1000 + sizes.2))
        let shape = FeatureShape(channels: 3, batch: 2, height: sizes.0, width: sizes.1)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 4 - 2 }
        var results: [[Float]] = []
        for (vectorized, threads) in [(false, 1), (true, 1), (true, 2)] {
            var y = [Float](repeating: .nan, count: 6 * sizes.2 * sizes.3)
            x.withUnsafeBufferPointer { xs in
                y.withUnsafeMutableBufferPointer {
                    BilinearResize.resize(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!,
                                          outHeight: sizes.2, outWidth: sizes.3, threads: threads, vectorized: vectorized)
                }
            }
            results.append(y)
        }
        #expect(!results[0].contains { $0.isNaN })
        #expect(results[1] == results[0] && results[2] == results[0])
    }

    @Test("exact GELU on [−10, 10]")
    func gelu() {
        let x = KernelFixtures.tensor("gelu.input"), want = KernelFixtures.tensor("gelu.output")
        var worst: Float = 0
        for i in x.values.indices { worst = max(worst, abs(GELU.exact(x.values[i]) - want.values[i])) }
        #expect(worst <= 1e-6)
    }

    @Test("the vectorizable erf stays within 5e-7 of libm's erff")
    func erfAgainstLibm() {
        var worst: Float = 0
        for i in -6000...6000 {
            let x = Float(i) / 1000
            worst = max(worst, abs(GELU.erf(x) - Foundation.erf(x)))
        }
        #expect(worst <= 5e-7)
    }

    @Test("GELU epilogue adds the bias per channel first")
    func epilogue() {
        var values: [Float] = [-1, 0, 1, 2, -2, 3]   // (2 channels, 3)
        let bias: [Float] = [0.5, -0.25]
        values.withUnsafeMutableBufferPointer { v in
            Epilogue.apply(.gelu, values: v.baseAddress!, bias: bias, channels: 2, channelStride: 3)
        }
        let expected: [Float] = [-0.5, 0, 1, 2, -2, 3].enumerated().map { i, x in
            let b = i < 3 ? Float(0.5) : -0.25
            let y = i < 3 ? [-1, 0, 1][i] + b : [2, -2, 3][i - 3] + b
            _ = x
            return 0.5 * y * (1 + Foundation.erf(y / 2.0.squareRoot().float))
        }
        for i in values.indices { #expect(abs(values[i] - expected[i]) <= 1e-6) }
    }

    @Test("channel attention: avg and max descriptors through one shared MLP")
    func attention() {
        let attn = ChannelAttention(reduce: KernelFixtures.tensor("attention.mlp0").values,
                                    expand: KernelFixtures.tensor("attention.mlp2").values, channels: 32)
        let got = KernelFixtures.run(KernelFixtures.tensor("attention.input"), outShape: { $0 }) { x, s, y in
            y.update(from: x, count: s.count)
            attn.apply(to: y, shape: s)
        }
        #expect(got.maxAbsDifference(KernelFixtures.tensor("attention.output")) <= 1e-6)
    }
}

private extension Double { var float: Float { Float(self) } }

@Suite("Vectorizable tanh and the head's direct convolution")
struct HeadKernelTests {
    @Test("the vectorizable tanh stays within 1e-6 of libm's tanhf")
    func tanhAgainstLibm() {
        var worst: Float = 0
        for i in -12000...12000 {
            let x = Float(i) / 1000
            worst = max(worst, abs(Tanh.value(x) - Foundation.tanh(x)))
        }
        for x: Float in [1e-8, -3e-5, 0, 100, -100] { worst = max(worst, abs(Tanh.value(x) - Foundation.tanh(x))) }
        #expect(worst <= 1e-6, "max abs difference \(worst)")
    }

    /// Conv2d(C_in → 3, k 3, s 1, p 1), the `head` (docs/model.md §11), against the Double definition (§4);
    /// widths below, at and above the 16-column vector block plus its two border columns.
    @Test("3-channel direct convolution equals the definition",
          arguments: [(6, 40, 2, 1), (3, 18, 1, 1), (5, 7, 1, 1), (1, 1, 2, 1), (4, 37, 1, 1), (6, 40, 2, 2), (5, 7, 1, 2)])
    func threeChannels(height: Int, width: Int, batch: Int, threads: Int) {
        var rng = SplitMix64(seed: UInt64(height * 100 + width))
        let shape = FeatureShape(channels: 5, batch: batch, height: height, width: width)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(3 * 5 * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.3 }
        let b: [Float] = [0.1, -0.2, 0.3]
        let conv = Conv2d(weight: w, bias: b, inChannels: 5, outChannels: 3, kernel: 3, stride: 1, padding: 1,
                          activation: .identity)
        var out = [Float](repeating: .nan, count: 3 * shape.channelStride)
        var scratch = ScratchBuffer()
        scratch.threads = threads
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { conv.forward(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!, scratch: &scratch) }
        }
        let want = WinogradTests.reference(x, shape, w, outChannels: 3)
        var worst: Float = 0
        for i in out.indices { worst = max(worst, abs(out[i] - (want[i] + b[i / shape.channelStride]))) }
        #expect(!out.contains { $0.isNaN }, "every output written")
        #expect(worst <= 1e-5, "max abs difference \(worst)")
    }
}
