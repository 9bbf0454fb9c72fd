import Foundation
import TensorKernels

/// CNNAutoencoder_3 for 150×150 RGB H&E patches (docs/model.md), inference only.
///
/// Properties mirror the PyTorch module and its state-dict names one-to-one (`enc1.conv`, `enc1.attn`, `up1`,
/// `fuse1.conv`, `head`, …). BatchNorm is folded into the convolutions when the model loads; Dropout is the
/// identity. The model is immutable and `Sendable`: share one across threads, give each thread its own
/// ``Workspace``.
///
/// ```swift
/// let model = try CNNAutoencoder3(contentsOf: URL(fileURLWithPath: "model.safetensors"))
/// let workspace = Workspace()
/// let output = model.reconstruct(batch, workspace: workspace)   // Tensor (N, 3, 150, 150), in [-1, 1]
/// ```
public struct CNNAutoencoder3: Sendable {
    public static let inputSize = 150
    /// Multiply-adds of one forward pass: 2.13 G (4.26 GFLOP), two thirds in the decoder's fuse convolutions.
    public static let flopsPerImage = 4.26e9

    public let enc1: EncoderBlock, enc2: EncoderBlock, enc3: EncoderBlock, enc4: EncoderBlock
    public let up1: ConvTranspose2d, up2: ConvTranspose2d, up3: ConvTranspose2d, up4: ConvTranspose2d
    public let fuse1: FuseBlock, fuse2: FuseBlock, fuse3: FuseBlock
    /// `head`: Conv2d(32→3, k 3, s 1, p 1) with a tanh epilogue.
    public let head: Conv2d
    /// What the GEMMs run in: the precision asked for, where this CPU can run it (``Precision/runnable(on:)``).
    public let precision: Precision

    /// Loads and validates a safetensors state dict (F32, F16 or BF16), folding BatchNorm once.
    /// - Parameter precision: the GEMMs' arithmetic; bf16 falls back to fp32 where the CPU lacks it.
    public init(contentsOf url: URL, precision: Precision = .fp32) throws(ModelLoadError) {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: url) } catch { throw .file(error) }
        try self.init(stateDict: file, precision: precision)
    }

    public init(stateDict file: SafetensorsFile, precision requested: Precision = .fp32) throws(ModelLoadError) {
        try StateDictContract.validate(file)
        let w = WeightSet(tensors: file.tensors)
        let precision = requested.runnable()
        self.precision = precision
        let encoder = Architecture.encoder.map {
            w.encoderBlock($0.name, inChannels: $0.inChannels, outChannels: $0.outChannels, attention: $0.attention,
                           precision: precision)
        }
        let upsamplers = Architecture.upsamplers.map {
            w.upsample($0.name, inChannels: $0.inChannels, outChannels: $0.outChannels, precision: precision)
        }
        let fuses = Architecture.fuses.map {
            w.fuseBlock($0.name, inChannels: $0.inChannels, outChannels: $0.outChannels, precision: precision)
        }
        (enc1, enc2, enc3, enc4) = (encoder[0], encoder[1], encoder[2], encoder[3])
        (up1, up2, up3, up4) = (upsamplers[0], upsamplers[1], upsamplers[2], upsamplers[3])
        (fuse1, fuse2, fuse3) = (fuses[0], fuses[1], fuses[2])
        let head = Architecture.head
        self.head = Conv2d(weight: w["\(head.name).weight"], bias: w["\(head.name).bias"], inChannels: head.inChannels,
                           outChannels: head.outChannels, kernel: 3, stride: 1, padding: 1, activation: .tanh,
                           precision: precision)
    }

    /// Names of the intermediate results handed to a forward pass's observer, in order.
    public enum Block: String, CaseIterable, Sendable {
        case enc1, enc2, enc3, enc4, up1, fuse1, up2, fuse2, up3, fuse3, up4, head, output
    }

    /// Reconstructs a batch. `input` is `(N, 3, 150, 150)` normalized to [−1, 1] (docs/model.md §3); returns the same
    /// shape. Convenience over ``forward(input:count:output:workspace:observe:)``.
    public func reconstruct(_ input: Tensor, workspace: Workspace) -> Tensor {
        let size = Self.inputSize
        precondition(input.shape.count == 4 && Array(input.shape[1...]) == [3, size, size], "input must be (N, 3, 150, 150)")
        var output = Tensor(zeros: input.shape)
        input.values.withUnsafeBufferPointer { x in
            output.values.withUnsafeMutableBufferPointer { y in
                forward(input: x.baseAddress!, count: input.shape[0], output: y.baseAddress!, workspace: workspace)
            }
        }
        return output
    }

    /// The forward pass (docs/model.md §12) over `count` images.
    ///
    /// - Parameters:
    ///   - input: `(N, 3, 150, 150)`, normalized.
    ///   - output: `(N, 3, 150, 150)`, written.
    ///   - workspace: this thread's buffers; grown to `N` if needed, then reused.
    ///   - observe: called after each ``Block`` with its output in `(C, N, H, W)` layout (for parity tests).
    public func forward(input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>,
                        workspace: Workspace,
                        observe: ((Block, UnsafePointer<Float>, FeatureShape) -> Void)? = nil) {
        let a = workspace.activations(batch: count)
        let n = count
        let xShape = FeatureShape(channels: 3, batch: n, height: 150, width: 150)
        Layout.nchwToCNHW(input, a.x, shape: xShape)

        // Encoder (docs/model.md §10): 150 → 75 → 38 → 19 → 10.
        let f1Shape = enc1.forward(input: a.x, shape: xShape, output: a.f1, scratch: &workspace.scratch,
                                   pooled: a.pooled)
        observe?(.enc1, a.f1, f1Shape)
        let f2Shape = enc2.forward(input: a.f1, shape: f1Shape, output: a.f2, scratch: &workspace.scratch,
                                   pooled: a.pooled)
        observe?(.enc2, a.f2, f2Shape)
        let f3Shape = enc3.forward(input: a.f2, shape: f2Shape, output: a.f3, scratch: &workspace.scratch,
                                   pooled: a.pooled)
        observe?(.enc3, a.f3, f3Shape)
        let zShape = enc4.forward(input: a.f3, shape: f3Shape, output: a.z, scratch: &workspace.scratch,
                                   pooled: a.pooled)
        observe?(.enc4, a.z, zShape)

        // Decoder (docs/model.md §11): D_k = fuse([up(D_{k-1}); Resize(F_skip)]).
        let d1Shape = decode(up1, .up1, fuse1, .fuse1, from: a.z, zShape, skip: a.f3, f3Shape,
                             concat: a.cat1, output: a.d1, workspace: workspace, observe: observe)
        let d2Shape = decode(up2, .up2, fuse2, .fuse2, from: a.d1, d1Shape, skip: a.f2, f2Shape,
                             concat: a.cat2, output: a.d2, workspace: workspace, observe: observe)
        let d3Shape = decode(up3, .up3, fuse3, .fuse3, from: a.d2, d2Shape, skip: a.f1, f1Shape,
                             concat: a.cat3, output: a.d3, workspace: workspace, observe: observe)

        // D4 (docs/model.md §11): 80 → 160, refine to 3 channels with tanh, resize to 150.
        up4.forward(input: a.d3, shape: d3Shape, output: a.u4, scratch: &workspace.scratch)
        let u4Shape = up4.outputShape(for: d3Shape)
        observe?(.up4, a.u4, u4Shape)
        head.forward(input: a.u4, shape: u4Shape, output: a.r, scratch: &workspace.scratch)
        let rShape = head.outputShape(for: u4Shape)
        observe?(.head, a.r, rShape)
        BilinearResize.resize(input: a.r, shape: rShape, output: a.y, outHeight: 150, outWidth: 150,
                              threads: workspace.scratch.threads)
        observe?(.output, a.y, xShape)
        Layout.cnhwToNCHW(a.y, output, shape: xShape)
    }

    /// One decoder stage: `up` writes the first channels of the concat buffer, the resized skip the rest
    /// (in `(C, N, H, W)` layout a channel concat is just adjacent memory), then `fuse` convolves it.
    private func decode(_ up: ConvTranspose2d, _ upName: Block, _ fuse: FuseBlock, _ fuseName: Block,
                        from input: UnsafePointer<Float>, _ inputShape: FeatureShape,
                        skip: UnsafePointer<Float>, _ skipShape: FeatureShape,
                        concat: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                        workspace: Workspace,
                        observe: ((Block, UnsafePointer<Float>, FeatureShape) -> Void)?) -> FeatureShape {
        up.forward(input: input, shape: inputShape, output: concat, scratch: &workspace.scratch)
        let upShape = up.outputShape(for: inputShape)
        observe?(upName, concat, upShape)
        BilinearResize.resize(input: skip, shape: skipShape, output: concat + upShape.count,
                              outHeight: upShape.height, outWidth: upShape.width, threads: workspace.scratch.threads)
        var concatShape = upShape
        concatShape.channels += skipShape.channels
        fuse.conv.forward(input: concat, shape: concatShape, output: output, scratch: &workspace.scratch)
        let outShape = fuse.conv.outputShape(for: concatShape)
        observe?(fuseName, output, outShape)
        return outShape
    }
}
