import Testing
import TensorKernels

/// The sub-pixel ConvTranspose2d (k 3, s 2, p 1, op 1; docs/model.md §5) against the general GEMM + col2im form.
@Suite("Sub-pixel ConvTranspose2d")
struct SubPixelConvTransposeTests {
    /// The decoder's shapes (10→20, 20→40, 40→80, 80→160, scaled down in channels) plus odd and tiny ones.
    @Test("equals GEMM + col2im", arguments: [
        (10, 10, 2, 24, 20), (20, 20, 1, 16, 8), (7, 9, 3, 5, 6), (1, 1, 1, 3, 2), (2, 5, 2, 4, 33), (19, 19, 2, 32, 32),
    ])
    func matchesCol2im(height: Int, width: Int, batch: Int, inChannels: Int, outChannels: Int) {
        var rng = SplitMix64(seed: UInt64(height * 1000 + width * 10 + batch))
        let shape = FeatureShape(channels: inChannels, batch: batch, height: height, width: width)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(inChannels * outChannels * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.3 }
        let b = (0..<outChannels).map { _ in rng.nextUniform() - 0.5 }
        let up = ConvTranspose2d(weight: w, bias: b, inChannels: inChannels, outChannels: outChannels,
                                 kernel: 3, stride: 2, padding: 1, outputPadding: 1)
        let reference = ConvTranspose2d(weight: w, bias: b, inChannels: inChannels, outChannels: outChannels,
                                        kernel: 3, stride: 2, padding: 1, outputPadding: 1, method: .col2im)
        let out = up.outputShape(for: shape)
        #expect(out.height == 2 * height && out.width == 2 * width)
        var want = [Float](repeating: .nan, count: out.count)
        var scratch = ScratchBuffer()
        x.withUnsafeBufferPointer { xs in
            want.withUnsafeMutableBufferPointer {
                reference.forward(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!, scratch: &scratch)
            }
        }
        // Whole batch in one tile, and one input row per tile; on one thread and split across two.
        for (chunkLimit, minimumColumns, threads) in [(16 << 20, 1024, 1), (1, 1, 1), (16 << 20, 1024, 2), (1, 1, 2)] {
            var got = [Float](repeating: .nan, count: out.count)
            var tiles = ScratchBuffer(chunkLimit: chunkLimit)
            tiles.minimumColumns = minimumColumns
            tiles.threads = threads
            x.withUnsafeBufferPointer { xs in
                got.withUnsafeMutableBufferPointer {
                    up.forward(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!, scratch: &tiles)
                }
            }
            var worst: Float = 0
            for i in got.indices { worst = max(worst, abs(got[i] - want[i])) }
            #expect(!got.contains { $0.isNaN }, "every output written")
            #expect(worst <= 1e-5, "max abs difference \(worst) (chunk limit \(chunkLimit))")
        }
    }

    @Test("bf16: gathering straight into packed panels gives the bits of rounding float32 copies", .enabled(if: GEMMCapabilities.current.bf16, "this CPU has no AVX512-BF16 (or HISTOAE_GEMM=openblas): the bf16 kernel cannot run here"),
          arguments: [(10, 10, 2, 24, 16), (7, 9, 3, 6, 8), (1, 1, 1, 2, 8), (19, 19, 2, 32, 32), (40, 40, 1, 16, 8)])
    func packedGatherBF16(height: Int, width: Int, batch: Int, inChannels: Int, outChannels: Int) {
        var rng = SplitMix64(seed: UInt64(height * 100 + width + inChannels))
        let shape = FeatureShape(channels: inChannels, batch: batch, height: height, width: width)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(inChannels * outChannels * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.3 }
        let bias = (0..<outChannels).map { _ in rng.nextUniform() - 0.5 }
        let direct = SubPixelConvTranspose(weight: w, inChannels: inChannels, outChannels: outChannels, precision: .bf16)
        let copies = SubPixelConvTranspose(weight: w, inChannels: inChannels, outChannels: outChannels, precision: .bf16,
                                           gathersPackedBF16: false)
        let fp32 = SubPixelConvTranspose(weight: w, inChannels: inChannels, outChannels: outChannels)
        func run(_ up: SubPixelConvTranspose, chunkLimit: Int, minimumColumns: Int, threads: Int) -> [Float] {
            var out = [Float](repeating: .nan, count: outChannels * batch * 4 * shape.plane)
            var scratch = ScratchBuffer(chunkLimit: chunkLimit)
            scratch.minimumColumns = minimumColumns
            scratch.threads = threads
            x.withUnsafeBufferPointer { xs in
                bias.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer {
                        up.forward(input: xs.baseAddress!, shape: shape, bias: b.baseAddress!, output: $0.baseAddress!,
                                   scratch: &scratch)
                    }
                }
            }
            return out
        }
        let want = run(copies, chunkLimit: 16 << 20, minimumColumns: 1024, threads: 1)
        let exact = run(fp32, chunkLimit: 16 << 20, minimumColumns: 1024, threads: 1)
        var drift: Float = 0
        for i in want.indices { drift = max(drift, abs(want[i] - exact[i])) }
        #expect(drift > 0 && drift < 0.05, "bf16 against fp32: \(drift)")
        for (chunkLimit, minimumColumns, threads) in [(16 << 20, 1024, 1), (1, 1, 1), (16 << 20, 1024, 2), (1, 1, 2)] {
            let got = run(direct, chunkLimit: chunkLimit, minimumColumns: minimumColumns, threads: threads)
            #expect(got == want, "chunk limit \(chunkLimit), \(threads) thread(s)")
        }
    }
}
