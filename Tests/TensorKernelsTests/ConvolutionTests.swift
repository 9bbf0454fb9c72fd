import Testing
import TensorKernels

@Suite("Conv2d and ConvTranspose2d against PyTorch")
struct ConvolutionTests {
    func conv(_ name: String, stride: Int, padding: Int, chunkLimit: Int = 16 << 20,
              input: Tensor? = nil) -> (got: Tensor, want: Tensor) {
        let w = KernelFixtures.tensor("\(name).weight")
        let conv = Conv2d(weight: w.values, bias: KernelFixtures.tensor("\(name).bias").values,
                          inChannels: w.shape[1], outChannels: w.shape[0], kernel: w.shape[2],
                          stride: stride, padding: padding, activation: .identity)
        var scratch = ScratchBuffer(chunkLimit: chunkLimit)
        let x = input ?? KernelFixtures.tensor("\(name).input")
        let got = KernelFixtures.run(x, outShape: conv.outputShape) { x, s, y in
            conv.forward(input: x, shape: s, output: y, scratch: &scratch)
        }
        return (got, KernelFixtures.tensor("\(name).output"))
    }

    @Test("stride 1, padding 1, non-square 7×9", arguments: [16 << 20, 1])
    func strideOne(chunkLimit: Int) {
        let (got, want) = conv("conv_s1", stride: 1, padding: 1, chunkLimit: chunkLimit)
        #expect(got.shape == want.shape)
        #expect(got.maxAbsDifference(want) <= 1e-5)
    }

    @Test("stride 2, padding 1, odd 11×8 → 6×4")
    func strideTwo() {
        let (got, want) = conv("conv_s2", stride: 2, padding: 1)
        #expect(got.shape == [2, 6, 6, 4])
        #expect(got.maxAbsDifference(want) <= 1e-5)
    }

    @Test("stride 2, padding 0")
    func strideTwoNoPadding() {
        let (got, want) = conv("conv_s2p0", stride: 2, padding: 0)
        #expect(got.shape == want.shape)
        #expect(got.maxAbsDifference(want) <= 1e-5)
    }

    @Test("batch of 2 equals each image alone")
    func batchIndependence() {
        let (whole, _) = conv("conv_s1", stride: 1, padding: 1)
        for n in 0..<2 {
            let single = KernelFixtures.slice(KernelFixtures.tensor("conv_s1.input"), first: n, count: 1)
            let (alone, _) = conv("conv_s1", stride: 1, padding: 1, input: single)
            // Same GEMM reduction over K for every column: equal up to OpenBLAS's edge-tile rounding.
            #expect(alone.maxAbsDifference(KernelFixtures.slice(whole, first: n, count: 1)) <= 1e-6)
        }
    }

    @Test("BatchNorm folded into the convolution equals conv then BN (eval)")
    func foldedBatchNorm() {
        let w = KernelFixtures.tensor("conv_bn.weight")
        let bn = BatchNormParameters(weight: KernelFixtures.tensor("conv_bn.bn_weight").values,
                                     bias: KernelFixtures.tensor("conv_bn.bn_bias").values,
                                     runningMean: KernelFixtures.tensor("conv_bn.bn_mean").values,
                                     runningVar: KernelFixtures.tensor("conv_bn.bn_var").values)
        let folded = bn.fold(weight: w.values, bias: KernelFixtures.tensor("conv_bn.bias").values)
        let conv = Conv2d(weight: folded.weight, bias: folded.bias, inChannels: 3, outChannels: 4,
                          kernel: 3, stride: 1, padding: 1, activation: .identity)
        var scratch = ScratchBuffer()
        let got = KernelFixtures.run(KernelFixtures.tensor("conv_bn.input"), outShape: conv.outputShape) { x, s, y in
            conv.forward(input: x, shape: s, output: y, scratch: &scratch)
        }
        #expect(got.maxAbsDifference(KernelFixtures.tensor("conv_bn.output")) <= 1e-5)
    }

    @Test("ConvTranspose2d k3 s2 p1 op1: (2,6,5,7) → (2,4,10,14), Winograd and col2im",
          arguments: [16 << 20, 1], [ConvTranspose2d.Method.automatic, .col2im])
    func transposed(chunkLimit: Int, method: ConvTranspose2d.Method) {
        let w = KernelFixtures.tensor("convT.weight")
        let up = ConvTranspose2d(weight: w.values, bias: KernelFixtures.tensor("convT.bias").values,
                                 inChannels: 6, outChannels: 4, kernel: 3, stride: 2, padding: 1, outputPadding: 1,
                                 method: method)
        var scratch = ScratchBuffer(chunkLimit: chunkLimit)
        let got = KernelFixtures.run(KernelFixtures.tensor("convT.input"), outShape: up.outputShape) { x, s, y in
            up.forward(input: x, shape: s, output: y, scratch: &scratch)
        }
        #expect(got.shape == [2, 4, 10, 14])
        #expect(got.maxAbsDifference(KernelFixtures.tensor("convT.output")) <= 1e-5)
    }

    /// The encoder's stride-2 im2col (docs/model.md §10) on rows wide enough for its vector path (even and odd widths).
    @Test("stride 2, padding 1, wide rows, equals the definition", arguments: [(5, 40), (4, 37), (3, 75)])
    func strideTwoWide(height: Int, width: Int) {
        var rng = SplitMix64(seed: UInt64(height * 1000 + width))
        let shape = FeatureShape(channels: 3, batch: 2, height: height, width: width)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(4 * 3 * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.3 }
        let conv = Conv2d(weight: w, bias: [0, 0, 0, 0], inChannels: 3, outChannels: 4, kernel: 3, stride: 2,
                          padding: 1, activation: .identity)
        let out = conv.outputShape(for: shape)
        var y = [Float](repeating: .nan, count: out.count)
        var scratch = ScratchBuffer()
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { conv.forward(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!, scratch: &scratch) }
        }
        var worst: Float = 0
        for co in 0..<4 { for n in 0..<2 { for i in 0..<out.height { for j in 0..<out.width {
            var sum = 0.0
            for ci in 0..<3 { for u in 0..<3 { for v in 0..<3 {
                let yy = 2 * i + u - 1, xx = 2 * j + v - 1
                guard yy >= 0, yy < height, xx >= 0, xx < width else { continue }
                sum += Double(w[((co * 3 + ci) * 3 + u) * 3 + v]) * Double(x[((ci * 2 + n) * height + yy) * width + xx])
            }}}
            worst = max(worst, abs(y[((co * 2 + n) * out.height + i) * out.width + j] - Float(sum)))
        }}}}
        #expect(!y.contains { $0.isNaN })
        #expect(worst <= 1e-5, "max abs difference \(worst)")
    }
}

/// Conv2d's im2col written straight into the kernel's packed panels (`hae_im2col.h`), float32 and bf16.
@Suite("Conv2d im2col into packed panels")
struct PackedIm2colTests {
    static let shapes = [(3, 16, 2, 9, 7, 2), (3, 64, 2, 75, 75, 1), (8, 16, 2, 20, 33, 2), (6, 8, 1, 10, 17, 1),
                         (64, 16, 2, 38, 38, 1), (5, 24, 2, 1, 1, 3)]

    @Test("float32: the bits of the row-major im2col matrix the GEMM packs, for every tiling and thread count",
          .enabled(if: PackedWeights.kernelAvailable, "this CPU has no AVX-512F (or HISTOAE_GEMM=openblas): the packed kernel cannot run here"),
          arguments: shapes)
    func packedFloatMatchesRowMajor(inChannels: Int, outChannels: Int, stride: Int, height: Int, width: Int,
                                    batch: Int) {
        var rng = SplitMix64(seed: UInt64(inChannels * 1000 + height * 10 + width + 7))
        let shape = FeatureShape(channels: inChannels, batch: batch, height: height, width: width)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(outChannels * inChannels * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.3 }
        let b = (0..<outChannels).map { _ in rng.nextUniform() - 0.5 }
        let padding = stride == 1 ? 0 : 1                   // off the direct path at stride 1
        func conv(packed: Bool) -> Conv2d {
            Conv2d(weight: w, bias: b, inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: stride,
                   padding: padding, activation: .gelu, precision: .fp32, gathersPacked: packed)
        }
        let want = Self.run(conv(packed: false), x, shape, chunkLimit: 384 << 10, minimumColumns: 1024, threads: 1)
        #expect(!want.contains { $0.isNaN })
        let packed = conv(packed: true)
        for (chunkLimit, minimumColumns, threads) in [(384 << 10, 1024, 1), (1, 1, 1), (384 << 10, 1024, 2), (1, 1, 2)] {
            let got = Self.run(packed, x, shape, chunkLimit: chunkLimit, minimumColumns: minimumColumns, threads: threads)
            #expect(got == want, "chunk limit \(chunkLimit), \(threads) thread(s)")
        }
    }

    static func run(_ c: Conv2d, _ x: [Float], _ shape: FeatureShape, chunkLimit: Int, minimumColumns: Int,
                    threads: Int) -> [Float] {
        let out = c.outputShape(for: shape)
        var y = [Float](repeating: .nan, count: out.count)
        var scratch = ScratchBuffer(chunkLimit: chunkLimit)
        scratch.minimumColumns = minimumColumns
        scratch.threads = threads
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer {
                c.forward(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!, scratch: &scratch)
            }
        }
        return y
    }

    @Test("the bits of rounding the float32 im2col matrix, for every tiling and thread count", .enabled(if: GEMMCapabilities.current.bf16, "this CPU has no AVX512-BF16 (or HISTOAE_GEMM=openblas): the bf16 kernel cannot run here"),
          arguments: shapes)
    func packedMatchesFloat(inChannels: Int, outChannels: Int, stride: Int, height: Int, width: Int, batch: Int) {
        var rng = SplitMix64(seed: UInt64(inChannels * 1000 + height * 10 + width))
        let shape = FeatureShape(channels: inChannels, batch: batch, height: height, width: width)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(outChannels * inChannels * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.3 }
        let b = (0..<outChannels).map { _ in rng.nextUniform() - 0.5 }
        // Padding 0 at stride 1 keeps it off the direct path (which runs "same" convolutions).
        let padding = stride == 1 ? 0 : 1
        func conv(_ precision: Precision, direct: Bool) -> Conv2d {
            Conv2d(weight: w, bias: b, inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: stride,
                   padding: padding, activation: .gelu, precision: precision, gathersPacked: direct)
        }
        func run(_ c: Conv2d, chunkLimit: Int, minimumColumns: Int, threads: Int) -> [Float] {
            Self.run(c, x, shape, chunkLimit: chunkLimit, minimumColumns: minimumColumns, threads: threads)
        }
        let want = run(conv(.bf16, direct: false), chunkLimit: 384 << 10, minimumColumns: 1024, threads: 1)
        let exact = run(conv(.fp32, direct: true), chunkLimit: 384 << 10, minimumColumns: 1024, threads: 1)
        var drift: Float = 0
        for i in want.indices { drift = max(drift, abs(want[i] - exact[i])) }
        #expect(!want.contains { $0.isNaN })
        #expect(drift > 0 && drift < 0.05, "bf16 against fp32: \(drift)")
        let direct = conv(.bf16, direct: true)
        for (chunkLimit, minimumColumns, threads) in [(384 << 10, 1024, 1), (1, 1, 1), (384 << 10, 1024, 2), (1, 1, 2)] {
            let got = run(direct, chunkLimit: chunkLimit, minimumColumns: minimumColumns, threads: threads)
            #expect(got == want, "chunk limit \(chunkLimit), \(threads) thread(s)")
        }
    }
}
