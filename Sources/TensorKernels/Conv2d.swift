import CGEMMKernel

/// A 2-D convolution (docs/model.md §4) run as Winograd F(4×4, 3×3), as im2col + one GEMM per chunk of the batch, or
/// as direct loops, with its bias and activation fused into a single epilogue pass. Weights are final at
/// construction (BatchNorm already folded).
///
/// ```swift
/// let conv = Conv2d(weight: w, bias: b, inChannels: 3, outChannels: 64, kernel: 3, stride: 2, padding: 1,
///                   activation: .gelu)
/// let out = conv.outputShape(for: inShape)
/// conv.forward(input: x, shape: inShape, output: y, scratch: &scratch)
/// ```
public struct Conv2d: Sendable {
    public let inChannels: Int, outChannels: Int
    public let kernel: Int, stride: Int, padding: Int
    public let activation: Activation
    /// `(C_out)`.
    public let bias: [Float]
    /// How it runs, fixed at load time; each way keeps the weights only in the form it reads.
    let method: Method
    /// im2col writes the packed kernel's B panels directly (`hae_im2col.h`): float32 ones, or at bf16 rounded bf16
    /// ones; false keeps the row-major float32 matrix the GEMM packs (at bf16 rounds) itself (tests compare the two:
    /// the same bits).
    let gathersPacked: Bool

    enum Method: Sendable {
        /// Winograd F(4×4, 3×3): 3×3 stride-1 "same" convolutions over many channels (the decoder's fuse convs).
        case winograd(WinogradConv3x3)
        /// im2col + GEMM (the strided encoder convs): `(C_out, C_in·k·k)` packed for the kernel.
        case gemm(PackedWeights)
        /// Direct loops over few output channels (the head): `(C_out, C_in·k·k)`, PyTorch's layout flattened.
        case direct([Float])
    }

    /// - Parameter precision: what its GEMMs run in (``PackedWeights``); the direct loops are always float32.
    /// - Parameter gathersPacked: see ``gathersPacked``.
    public init(weight: [Float], bias: [Float], inChannels: Int, outChannels: Int,
                kernel: Int, stride: Int, padding: Int, activation: Activation, precision: Precision = .fp32,
                gathersPacked: Bool = true) {
        self.gathersPacked = gathersPacked
        precondition(weight.count == outChannels * inChannels * kernel * kernel && bias.count == outChannels)
        self.bias = bias
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.activation = activation
        if kernel == 3 && stride == 1 && padding == 1 && inChannels >= 32 && outChannels >= 32 {
            method = .winograd(WinogradConv3x3(weight: weight, inChannels: inChannels, outChannels: outChannels,
                                               precision: precision))
        } else if stride != 1 || padding != kernel / 2 || outChannels > DirectConvolution.maximumOutputChannels {
            method = .gemm(PackedWeights(rowMajor: weight, rows: outChannels,
                                         matrices: [(offset: 0, columns: inChannels * kernel * kernel)],
                                         precision: precision))
        } else {
            method = .direct(weight)
        }
    }

    /// `H_out = ⌊(H + 2p − k)/s⌋ + 1` (docs/model.md §4).
    public func outputShape(for input: FeatureShape) -> FeatureShape {
        FeatureShape(channels: outChannels, batch: input.batch,
                     height: (input.height + 2 * padding - kernel) / stride + 1,
                     width: (input.width + 2 * padding - kernel) / stride + 1)
    }

    /// Rows of the im2col matrix: `C_in·k·k`.
    public var fanIn: Int { inChannels * kernel * kernel }

    /// - Parameters:
    ///   - input: `(C_in, N, H, W)`.
    ///   - output: `(C_out, N, H_out, W_out)`, fully overwritten with `activation(conv + bias)`.
    ///   - scratch: im2col buffer, grown as needed and reused across calls.
    ///   - pooled: if given, receives the output's ``ChannelPooling`` statistics `(2, C_out, N)` (for the
    ///     channel attention that follows an encoder convolution, docs/model.md §8).
    ///
    /// The output is produced in tiles of whole output rows (across images: global row `n·H_out + i`), sized so
    /// the tile's im2col matrix stays in cache while the GEMM packs it, instead of streaming a
    /// 30 MB-per-image matrix through memory; each tile's epilogue runs while it is still in cache.
    public func forward(input: UnsafePointer<Float>, shape: FeatureShape,
                        output: UnsafeMutablePointer<Float>, scratch: inout ScratchBuffer,
                        pooled: UnsafeMutablePointer<Float>? = nil) {
        precondition(shape.channels == inChannels)
        let out = outputShape(for: shape)
        switch method {
        case .winograd(let winograd):
            bias.withUnsafeBufferPointer { b in
                winograd.forward(input: input, shape: shape, output: output, bias: b.baseAddress!,
                                 activation: activation, scratch: &scratch)
            }
        case .gemm(let weight):
            gemmForward(weight, input: input, shape: shape, out: out, output: output, scratch: &scratch,
                        pooled: pooled)
            return
        case .direct(let weight):
            weight.withUnsafeBufferPointer { w in
                if outChannels == 3 && kernel == 3 {
                    DirectConvolution.threeChannels3x3(input: input, shape: shape, weight: w.baseAddress!, output: output,
                                                       threads: scratch.threads)
                } else {
                    DirectConvolution.sameStrideOne(input: input, shape: shape, weight: w.baseAddress!,
                                                    outChannels: outChannels, kernel: kernel, output: output)
                }
            }
            bias.withUnsafeBufferPointer { b in
                Epilogue.apply(activation, values: output, bias: b.baseAddress!,
                               channels: outChannels, channelStride: out.channelStride)
            }
        }
        if let pooled { ChannelPooling.pool(output, shape: out, into: pooled) }
    }

    /// im2col + sgemm + epilogue (+ pooling), tile by tile.
    private func gemmForward(_ packedWeight: PackedWeights, input: UnsafePointer<Float>, shape: FeatureShape,
                             out: FeatureShape, output: UnsafeMutablePointer<Float>, scratch: inout ScratchBuffer,
                             pooled: UnsafeMutablePointer<Float>?) {
        let totalRows = out.batch * out.height
        let rowsPerTile = scratch.rowsPerTile(floatsPerRow: fanIn * out.width, rowWidth: out.width, totalRows: totalRows)
        // Packed (`hae_im2col.h`): at bf16 (⌈n/32⌉, ⌈fanIn/2⌉ pairs, 32, 2) bf16 panels, else (⌈n/32⌉, fanIn, 32)
        // float ones; otherwise the row-major (fanIn, n) matrix.
        let pairs = (fanIn + 1) / 2
        let gathers = gathersPacked && (stride == 1 || stride == 2) && kernel <= Int(HAE_IM2COL_MAX_KERNEL)
        let prepacked = gathers && packedWeight.acceptsPrepackedBF16
        let prepackedF32 = gathers && packedWeight.acceptsPrepackedF32
        let tileColumns = out.width * rowsPerTile
        let columns = scratch.reserve(prepacked ? BF16Panels.scratchFloats(columns: tileColumns, depth: fanIn)
            : prepackedF32 ? PackedWeights.scratchFloats(columns: tileColumns, depth: fanIn, matrices: 1,
                                                         stride: hae_gemm_packed_b_count(tileColumns, fanIn))
            : fanIn * tileColumns)
        let packed = BF16Panels.packedB(in: columns)
        let packedF32 = PackedWeights.packedB(in: columns)
        let planes = outChannels * out.batch
        let threads = scratch.threads
        if let pooled { ChannelPooling.reset(pooled, planes: planes) }
        bias.withUnsafeBufferPointer { b in
            var firstRow = 0
            while firstRow < totalRows {
                let rows = min(rowsPerTile, totalRows - firstRow)
                // (C_out, fanIn) · (fanIn, rows·W_out) → columns [firstRow·W_out, …) of (C_out, N·H_out·W_out).
                let tile = output + firstRow * out.width
                if prepacked {
                    Parallel.forEach(pairs, parts: threads) { _, range in
                        hae_im2col_bf16(input, inChannels, shape.batch, shape.height, shape.width, kernel, stride,
                                        padding, out.height, out.width, firstRow, rows, range.lowerBound, range.count,
                                        packed)
                    }
                    packedWeight.multiplyPrepacked(matrixAt: 0, columns: fanIn, n: rows * out.width, packedB: packed,
                                                   panelPairs: pairs, c: tile, ldc: out.channelStride, parts: threads)
                } else if prepackedF32 {
                    Parallel.forEach(fanIn, parts: threads) { _, range in
                        hae_im2col_f32(input, inChannels, shape.batch, shape.height, shape.width, kernel, stride,
                                       padding, out.height, out.width, firstRow, rows, range.lowerBound, range.count,
                                       packedF32)
                    }
                    packedWeight.multiplyPrepacked(matrixAt: 0, columns: fanIn, n: rows * out.width, packedB: packedF32,
                                                   panelDepth: fanIn, c: tile, ldc: out.channelStride, parts: threads)
                } else {
                    Parallel.forEach(inChannels, parts: threads) { _, channels in
                        Im2col.gather(input: input, shape: shape, channels: channels, firstRow: firstRow,
                                      rowCount: rows, kernel: kernel, stride: stride, padding: padding,
                                      outHeight: out.height, outWidth: out.width, columns: columns)
                    }
                    packedWeight.multiply(matrixAt: 0, columns: fanIn, n: rows * out.width,
                                          b: columns, ldb: rows * out.width,
                                          c: tile, ldc: out.channelStride, parts: threads)
                }
                Parallel.forEach(outChannels, parts: threads) { _, channels in
                    finishTile(tile, channels: channels, firstRow: firstRow, rows: rows, out: out,
                               bias: b.baseAddress!, pooled: pooled)
                }
                firstRow += rows
            }
        }
    }

    /// The epilogue of one tile of `rows` output rows (starting at global row `firstRow`) for `channels`,
    /// plus the pooled statistics if asked for.
    private func finishTile(_ tile: UnsafeMutablePointer<Float>, channels: Range<Int>, firstRow: Int, rows: Int,
                            out: FeatureShape, bias: UnsafePointer<Float>, pooled: UnsafeMutablePointer<Float>?) {
        let planes = outChannels * out.batch
        for c in channels {
            let run = tile + c * out.channelStride
            Epilogue.apply(activation, values: run, bias: bias + c, channels: 1, channelStride: rows * out.width)
            guard let pooled else { continue }
            // The tile's rows, split at image boundaries: image n owns global rows [n·H_out, (n+1)·H_out).
            var g = firstRow
            while g < firstRow + rows {
                let n = g / out.height
                let end = min(firstRow + rows, (n + 1) * out.height)
                let plane = c * out.batch + n
                ChannelPooling.accumulate(run + (g - firstRow) * out.width, count: (end - g) * out.width,
                                          sum: &pooled[plane], maximum: &pooled[planes + plane])
                g = end
            }
        }
    }
}

/// Unfolds convolution windows into GEMM columns.
public enum Im2col {
    /// Writes `(C_in·k·k, rowCount·W_out)` (the rows of `channels` only, if given): row `(c, u, v)`, column `(g, j)` for global output row
    /// `g = n·H_out + i` in `[firstRow, firstRow + rowCount)` holds `input[c, n, s·i+u−p, s·j+v−p]`, or 0 in
    /// the padding.
    ///
    /// - Parameter input: `(C_in, N, H, W)`.
    public static func gather(input: UnsafePointer<Float>, shape: FeatureShape, channels: Range<Int>? = nil,
                              firstRow: Int, rowCount: Int,
                              kernel: Int, stride: Int, padding: Int, outHeight: Int, outWidth: Int,
                              columns: UnsafeMutablePointer<Float>) {
        let height = shape.height, width = shape.width, plane = shape.plane
        let rowLength = rowCount &* outWidth
        for c in channels ?? 0..<shape.channels {
            let channel = input + c &* shape.batch &* plane
            for u in 0..<kernel {
                for v in 0..<kernel {
                    var destination = columns + ((c &* kernel &+ u) &* kernel &+ v) &* rowLength
                    // Output columns j whose source s·j+v−p lies inside [0, W): j in [jLow, jHigh).
                    let jLow = min(outWidth, max(0, ceilDivide(padding - v, stride)))
                    let jHigh = max(jLow, min(outWidth, floorDivide(width - 1 + padding - v, stride) + 1))
                    for g in firstRow..<(firstRow &+ rowCount) {
                        let n = g / outHeight, i = g &- n &* outHeight
                        let y = i &* stride &+ u &- padding
                        if y < 0 || y >= height {
                            destination.update(repeating: 0, count: outWidth)
                        } else {
                            let row = channel + (n &* plane &+ y &* width &+ v &- padding)
                            for j in 0..<jLow { destination[j] = 0 }
                            if stride == 1 {
                                (destination + jLow).update(from: row + jLow, count: jHigh &- jLow)
                            } else if stride == 2 {
                                // Even elements of 16 loaded ones, while all 16 lie inside the row (s·j + 15 + v − p < W).
                                var j = jLow
                                while j &+ 8 <= jHigh && 2 &* j &+ 15 &+ v &- padding < width {
                                    (destination + j).store((row + 2 &* j).load16().evenHalf)
                                    j &+= 8
                                }
                                while j < jHigh {
                                    destination[j] = row[2 &* j]
                                    j &+= 1
                                }
                            } else {
                                for j in jLow..<jHigh { destination[j] = row[j &* stride] }
                            }
                            for j in jHigh..<outWidth { destination[j] = 0 }
                        }
                        destination += outWidth
                    }
                }
            }
        }
    }
}

/// Integer division rounding toward −∞ / +∞ (Swift's `/` truncates toward zero).
@inlinable func floorDivide(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
@inlinable func ceilDivide(_ a: Int, _ b: Int) -> Int { -floorDivide(-a, b) }
