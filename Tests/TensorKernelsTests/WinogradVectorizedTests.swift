import Testing
import TensorKernels

/// The AVX-512 transforms (`hae_winograd.h`) against the Swift ones, and the bf16 path that writes V straight into
/// the kernel's packed panels against float32.
@Suite("Winograd F(4×4, 3×3): AVX-512 transforms and prepacked bf16")
struct WinogradVectorizedTests {

    /// A random convolution and input, run by `conv` with chunks as small as one tile row (`chunkLimit: 1`) or
    /// as large as the batch; returns the output `(C_out, N, H, W)`.
    static func run(_ conv: WinogradConv3x3, shape: FeatureShape, input x: [Float], bias: [Float],
                    activation: Activation, threads: Int, smallChunks: Bool) -> [Float] {
        var out = [Float](repeating: .nan, count: conv.outChannels * shape.batch * shape.plane)
        var scratch = smallChunks ? ScratchBuffer(chunkLimit: 1) : ScratchBuffer()
        if smallChunks { scratch.minimumColumns = 1 }              // one tile row a chunk
        scratch.threads = threads
        x.withUnsafeBufferPointer { xs in
            bias.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer {
                    conv.forward(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!, bias: b.baseAddress!,
                                 activation: activation, scratch: &scratch)
                }
            }
        }
        return out
    }

    struct Case {
        let shape: FeatureShape, outChannels: Int
        let x: [Float], w: [Float], bias: [Float]
        init(channels: Int, outChannels: Int, height: Int, width: Int, batch: Int) {
            var rng = SplitMix64(seed: UInt64(channels * 7919 + height * 31 + width))
            shape = FeatureShape(channels: channels, batch: batch, height: height, width: width)
            self.outChannels = outChannels
            x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
            w = (0..<(outChannels * channels * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.2 }
            bias = (0..<outChannels).map { _ in rng.nextUniform() - 0.5 }
        }
    }

    /// Widths around the 16-tile vector (4, 16, 17, 20 tiles), heights cutting tiles short, odd channel counts.
    static let shapes: [(channels: Int, out: Int, height: Int, width: Int, batch: Int)] = [
        (33, 40, 7, 9, 2), (32, 32, 20, 20, 2), (34, 48, 13, 64, 1), (40, 32, 6, 66, 2), (64, 32, 40, 40, 1),
        (32, 40, 1, 1, 3), (36, 32, 19, 5, 2),
    ]

    @Test("float32: the vector transforms as exact as the Swift ones", .enabled(if: WinogradConv3x3.vectorTransformsAvailable, "this CPU has no AVX-512F: only the Swift transforms run"),
          arguments: shapes)
    func vectorMatchesSwift(_ s: (channels: Int, out: Int, height: Int, width: Int, batch: Int)) {
        let c = Case(channels: s.channels, outChannels: s.out, height: s.height, width: s.width, batch: s.batch)
        let swift = WinogradConv3x3(weight: c.w, inChannels: s.channels, outChannels: s.out, vectorTransforms: false)
        let vector = WinogradConv3x3(weight: c.w, inChannels: s.channels, outChannels: s.out)
        // The definition in Double, then bias (the Swift epilogue is the same for both).
        var exact = WinogradTests.reference(c.x, c.shape, c.w, outChannels: s.out)
        for co in 0..<s.out { for i in 0..<(s.batch * c.shape.plane) { exact[co * s.batch * c.shape.plane + i] += c.bias[co] } }
        let swiftOut = Self.run(swift, shape: c.shape, input: c.x, bias: c.bias, activation: .identity, threads: 1,
                                smallChunks: false)
        var swiftError: Float = 0
        for i in exact.indices { swiftError = max(swiftError, abs(swiftOut[i] - exact[i])) }
        for threads in [1, 2] {
            for small in [true, false] {
                let got = Self.run(vector, shape: c.shape, input: c.x, bias: c.bias, activation: .identity,
                                   threads: threads, smallChunks: small)
                var worst: Float = 0
                for i in got.indices { worst = max(worst, abs(got[i] - exact[i])) }
                #expect(!got.contains { $0.isNaN }, "every output written")
                #expect(worst <= 1.5 * swiftError + 1e-6,
                        "max error \(worst) against \(swiftError) for the Swift transforms, \(threads) thread(s), small chunks \(small)")
            }
        }
    }

    @Test("bf16: packed straight from the transform, within bf16's rounding of float32 and equal across chunkings",
          .enabled(if: GEMMCapabilities.current.bf16 && WinogradConv3x3.vectorTransformsAvailable,
                   "this CPU has no AVX512-BF16 (or HISTOAE_GEMM=openblas): the bf16 kernel cannot run here"),
          arguments: shapes.filter { $0.channels % 2 == 0 })
    func prepackedBF16(_ s: (channels: Int, out: Int, height: Int, width: Int, batch: Int)) {
        let c = Case(channels: s.channels, outChannels: s.out, height: s.height, width: s.width, batch: s.batch)
        let fp32 = WinogradConv3x3(weight: c.w, inChannels: s.channels, outChannels: s.out)
        let bf16 = WinogradConv3x3(weight: c.w, inChannels: s.channels, outChannels: s.out, precision: .bf16)
        let swiftBF16 = WinogradConv3x3(weight: c.w, inChannels: s.channels, outChannels: s.out, precision: .bf16,
                                        vectorTransforms: false)
        let want = Self.run(fp32, shape: c.shape, input: c.x, bias: c.bias, activation: .identity, threads: 1,
                            smallChunks: false)
        let unfused = Self.run(swiftBF16, shape: c.shape, input: c.x, bias: c.bias, activation: .identity,
                               threads: 1, smallChunks: false)
        let first = Self.run(bf16, shape: c.shape, input: c.x, bias: c.bias, activation: .identity, threads: 1,
                             smallChunks: false)
        // bf16 keeps 8 significant bits of V = Bᵀ d B and U = G g Gᵀ, whose entries reach 25× and 1/4× the inputs;
        // the output transform's sums cancel much of them, so the error is a fraction of the output's range: on these
        // uniform random weights up to 7.5 % of it (the model's trained weights: docs/precision.md).
        var worst: Float = 0, worstUnfused: Float = 0, range: Float = 0
        for i in first.indices {
            worst = max(worst, abs(first[i] - want[i]))
            worstUnfused = max(worstUnfused, abs(unfused[i] - want[i]))
            range = max(range, abs(want[i]))
        }
        #expect(!first.contains { $0.isNaN }, "every output written")
        #expect(worst > 0, "bf16 rounding shows: the bf16 kernel ran")
        #expect(worst <= 0.1 * range, "max |bf16 − fp32| \(worst) of outputs up to \(range)")
        #expect(worst <= 1.25 * worstUnfused + 1e-3,
                "\(worst): no worse than the Swift transforms then packing (\(worstUnfused))")
        for threads in [1, 2] {
            for small in [true, false] {
                let got = Self.run(bf16, shape: c.shape, input: c.x, bias: c.bias, activation: .identity,
                                   threads: threads, smallChunks: small)
                #expect(got == first, "\(threads) thread(s), small chunks \(small): the same bits")
            }
        }
    }
}
