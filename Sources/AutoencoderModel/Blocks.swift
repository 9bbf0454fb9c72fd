import TensorKernels

/// `enc1…enc4` (docs/model.md §10): Conv2d(k 3, s 2, p 1) → BatchNorm → GELU [→ Dropout] [→ ChannelAttention].
/// BatchNorm is folded into `conv` at load time; Dropout is the identity at inference.
public struct EncoderBlock: Sendable {
    /// `<name>.conv` with `<name>.bn` folded in, GELU epilogue.
    public let conv: Conv2d
    /// `<name>.attn` — absent in `enc4`.
    public let attn: ChannelAttention?

    /// - Parameters: input `(C_in, N, H, W)`, output `(C_out, N, ⌈H/2⌉, ⌈W/2⌉)`.
    /// - Parameter pooled: `(2, C_out, N)` scratch for the attention's pooled descriptors, which the
    ///   convolution's epilogue gathers (docs/model.md §8 step 1) so the attention need not re-read the output.
    func forward(input: UnsafePointer<Float>, shape: FeatureShape, output: UnsafeMutablePointer<Float>,
                 scratch: inout ScratchBuffer, pooled: UnsafeMutablePointer<Float>) -> FeatureShape {
        let outShape = conv.outputShape(for: shape)
        if let attn {
            conv.forward(input: input, shape: shape, output: output, scratch: &scratch, pooled: pooled)
            attn.apply(to: output, shape: outShape, pooled: pooled)
        } else {
            conv.forward(input: input, shape: shape, output: output, scratch: &scratch)
        }
        return outShape
    }
}

/// `fuse1…fuse3` (docs/model.md §11): Conv2d(k 3, s 1, p 1) over `[U; Resize(skip)]` → BatchNorm → GELU, BN folded.
public struct FuseBlock: Sendable {
    /// `<name>.conv` with `<name>.bn` folded in, GELU epilogue.
    public let conv: Conv2d
}

extension WeightSet {
    /// `<prefix>.conv` + `<prefix>.bn`, folded into one convolution with the given epilogue.
    func convWithBatchNorm(_ prefix: String, inChannels: Int, outChannels: Int, stride: Int,
                           precision: Precision) -> Conv2d {
        let batchNorm = BatchNormParameters(weight: self["\(prefix).bn.weight"], bias: self["\(prefix).bn.bias"],
                                            runningMean: self["\(prefix).bn.running_mean"],
                                            runningVar: self["\(prefix).bn.running_var"])
        let folded = batchNorm.fold(weight: self["\(prefix).conv.weight"], bias: self["\(prefix).conv.bias"])
        return Conv2d(weight: folded.weight, bias: folded.bias, inChannels: inChannels, outChannels: outChannels,
                      kernel: 3, stride: stride, padding: 1, activation: .gelu, precision: precision)
    }

    func encoderBlock(_ name: String, inChannels: Int, outChannels: Int, attention: Bool,
                      precision: Precision) -> EncoderBlock {
        EncoderBlock(conv: convWithBatchNorm(name, inChannels: inChannels, outChannels: outChannels, stride: 2,
                                             precision: precision),
                     attn: attention ? ChannelAttention(reduce: self["\(name).attn.mlp.0.weight"],
                                                        expand: self["\(name).attn.mlp.2.weight"],
                                                        channels: outChannels) : nil)
    }

    func fuseBlock(_ name: String, inChannels: Int, outChannels: Int, precision: Precision) -> FuseBlock {
        FuseBlock(conv: convWithBatchNorm(name, inChannels: inChannels, outChannels: outChannels, stride: 1,
                                          precision: precision))
    }

    /// `upN`: ConvTranspose2d(k 3, s 2, p 1, output_padding 1).
    func upsample(_ name: String, inChannels: Int, outChannels: Int, precision: Precision) -> ConvTranspose2d {
        ConvTranspose2d(weight: self["\(name).weight"], bias: self["\(name).bias"], inChannels: inChannels,
                        outChannels: outChannels, kernel: 3, stride: 2, padding: 1, outputPadding: 1,
                        precision: precision)
    }
}

/// A validated state dict: every lookup is known to exist with the contract's shape.
struct WeightSet {
    let tensors: [String: Tensor]
    subscript(name: String) -> [Float] { tensors[name]!.values }
}
