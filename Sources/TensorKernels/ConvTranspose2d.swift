/// A transposed convolution (docs/model.md §5) with PyTorch's weight layout `(C_in, C_out, k, k)`. The decoder's
/// `up1…up4` (k 3, stride 2, padding 1, output_padding 1) run as ``TransposedWinograd``; any other
/// configuration as one `sgemm` per chunk of the batch (`Wᵀ · X`) followed by col2im, the scatter-add of
/// every product into the output position it lands on.
///
/// The weights are kept only in the form the chosen method reads (like ``Conv2d``'s).
///
/// ```swift
/// let up = ConvTranspose2d(weight: w, bias: b, inChannels: 256, outChannels: 128, kernel: 3, stride: 2,
///                          padding: 1, outputPadding: 1)
/// up.forward(input: x, shape: s, output: y, scratch: &scratch)   // y: (128, N, 2H, 2W)
/// ```
public struct ConvTranspose2d: Sendable {
    /// How the layer computes: ``automatic`` picks the Winograd form where it applies; ``col2im`` forces
    /// GEMM + col2im, the general form (the Winograd form's reference in its tests).
    public enum Method: Sendable { case automatic, col2im }

    /// The weights in the layout the method reads.
    enum Form: Sendable {
        /// `(C_in, C_out·k·k)` — PyTorch's `(C_in, C_out, k, k)` flattened; used transposed as the GEMM's A.
        case col2im(weight: [Float])
        /// k 3, stride 2, padding 1, output_padding 1: the 25 Winograd GEMMs' packed weights.
        case winograd(TransposedWinograd)
    }

    public let inChannels: Int, outChannels: Int
    public let kernel: Int, stride: Int, padding: Int, outputPadding: Int
    /// `(C_out)`.
    public let bias: [Float]
    let form: Form

    public init(weight: [Float], bias: [Float], inChannels: Int, outChannels: Int,
                kernel: Int, stride: Int, padding: Int, outputPadding: Int, method: Method = .automatic,
                precision: Precision = .fp32) {
        precondition(weight.count == inChannels * outChannels * kernel * kernel && bias.count == outChannels)
        self.bias = bias
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        let doubling = kernel == 3 && stride == 2 && padding == 1 && outputPadding == 1
        // `precision` reaches only the Winograd GEMMs: the col2im form (tests' reference) stays on float32 OpenBLAS.
        form = method == .automatic && doubling
            ? .winograd(TransposedWinograd(weight: weight, inChannels: inChannels, outChannels: outChannels,
                                           precision: precision))
            : .col2im(weight: weight)
    }

    /// `H_out = (H − 1)·s − 2p + k + op` (docs/model.md §5).
    public func outputShape(for input: FeatureShape) -> FeatureShape {
        FeatureShape(channels: outChannels, batch: input.batch,
                     height: (input.height - 1) * stride - 2 * padding + kernel + outputPadding,
                     width: (input.width - 1) * stride - 2 * padding + kernel + outputPadding)
    }

    /// - Parameters:
    ///   - input: `(C_in, N, H, W)`.
    ///   - output: `(C_out, N, H_out, W_out)`, fully overwritten (it may be the front of a concat buffer).
    ///   - scratch: GEMM operands, reused across calls.
    public func forward(input: UnsafePointer<Float>, shape: FeatureShape,
                        output: UnsafeMutablePointer<Float>, scratch: inout ScratchBuffer) {
        switch form {
        case .col2im(let weight):
            forwardByCol2im(weight: weight, input: input, shape: shape, output: output, scratch: &scratch)
        case .winograd(let winograd):
            bias.withUnsafeBufferPointer { b in
                winograd.forward(input: input, shape: shape, bias: b.baseAddress!, output: output, scratch: &scratch)
            }
        }
    }

    /// The general form, GEMM + col2im, for any k, stride, padding; `scratch` holds the
    /// `(C_out·k·k, count·H·W)` column matrix.
    func forwardByCol2im(weight: [Float], input: UnsafePointer<Float>, shape: FeatureShape,
                         output: UnsafeMutablePointer<Float>, scratch: inout ScratchBuffer) {
        precondition(shape.channels == inChannels)
        let out = outputShape(for: shape)
        let rows = outChannels * kernel * kernel
        let imagesPerChunk = scratch.imagesPerChunk(floatsPerImage: rows * shape.plane, batch: shape.batch)
        let columns = scratch.reserve(rows * shape.plane * imagesPerChunk)
        // Every output position starts at its channel's bias; col2im adds the products on top.
        for c in 0..<outChannels {
            (output + c * out.channelStride).update(repeating: bias[c], count: out.channelStride)
        }
        weight.withUnsafeBufferPointer { w in
            var first = 0
            while first < shape.batch {
                let count = min(imagesPerChunk, shape.batch - first)
                // (C_in, C_out·k·k)ᵀ · (C_in, count·H·W) → (C_out·k·k, count·H·W).
                BLAS.sgemm(transposeA: true, m: rows, n: count * shape.plane, k: inChannels,
                           a: w.baseAddress!, lda: rows,
                           b: input + first * shape.plane, ldb: shape.channelStride,
                           c: columns, ldc: count * shape.plane)
                Col2im.scatterAdd(columns: columns, inputShape: shape, firstImage: first, imageCount: count,
                                  kernel: kernel, stride: stride, padding: padding,
                                  output: output, outputShape: out)
                first += count
            }
        }
    }
}

/// Folds GEMM columns back onto an image: the adjoint of ``Im2col``.
public enum Col2im {
    /// `output[c, first+n, s·i+u−p, s·j+v−p] += columns[(c, u, v), (n, i, j)]` where the target is inside.
    ///
    /// - Parameters:
    ///   - columns: `(C_out·k·k, count·H·W)`.
    ///   - output: `(C_out, N, H_out, W_out)`.
    public static func scatterAdd(columns: UnsafePointer<Float>, inputShape: FeatureShape,
                                  firstImage: Int, imageCount: Int,
                                  kernel: Int, stride: Int, padding: Int,
                                  output: UnsafeMutablePointer<Float>, outputShape: FeatureShape) {
        let height = inputShape.height, width = inputShape.width
        let outHeight = outputShape.height, outWidth = outputShape.width, outPlane = outputShape.plane
        let rowLength = imageCount &* height &* width
        for c in 0..<outputShape.channels {
            for u in 0..<kernel {
                for v in 0..<kernel {
                    var source = columns + ((c &* kernel &+ u) &* kernel &+ v) &* rowLength
                    // Input columns j whose target s·j+v−p lies inside [0, W_out).
                    let jLow = min(width, max(0, ceilDivide(padding - v, stride)))
                    let jHigh = max(jLow, min(width, floorDivide(outWidth - 1 + padding - v, stride) + 1))
                    for n in 0..<imageCount {
                        let target = output + (c &* outputShape.batch &+ firstImage &+ n) &* outPlane
                        for i in 0..<height {
                            let y = i &* stride &+ u &- padding
                            if y >= 0 && y < outHeight {
                                let row = target + (y &* outWidth &+ v &- padding)
                                for j in jLow..<jHigh { row[j &* stride] += source[j] }
                            }
                            source += width
                        }
                    }
                }
            }
        }
    }
}
