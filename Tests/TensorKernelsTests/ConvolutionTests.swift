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

    @Test("ConvTranspose2d k3 s2 p1 op1: (2,6,5,7) → (2,4,10,14)", arguments: [16 << 20, 1])
    func transposed(chunkLimit: Int) {
        let w = KernelFixtures.tensor("convT.weight")
        let up = ConvTranspose2d(weight: w.values, bias: KernelFixtures.tensor("convT.bias").values,
                                 inChannels: 6, outChannels: 4, kernel: 3, stride: 2, padding: 1, outputPadding: 1)
        var scratch = ScratchBuffer(chunkLimit: chunkLimit)
        let got = KernelFixtures.run(KernelFixtures.tensor("convT.input"), outShape: up.outputShape) { x, s, y in
            up.forward(input: x, shape: s, output: y, scratch: &scratch)
        }
        #expect(got.shape == [2, 4, 10, 14])
        #expect(got.maxAbsDifference(KernelFixtures.tensor("convT.output")) <= 1e-5)
    }
}
