import CGEMMKernel

/// ConvTranspose2d with k 3, stride 2, padding 1, output_padding 1 (docs/model.md §5; the decoder's
/// `up1…up4`, §11) by sub-pixel decomposition: no col2im scatter, each output value written once.
///
/// With `y = 2i + u − 1`, output row `2m` takes only tap `u = 1` from input row `m`; row `2m + 1` takes
/// `u = 2` from row `m` and `u = 0` from row `m + 1` (zero past the last row: the output_padding row).
/// Columns alike. So each output parity `(py, px)` is a small stride-1 correlation over the input shifted by
/// `(dy, dx) ∈ {0, 1}²`, with 1, 2, 2 or 4 taps — 9 taps in all, exactly the useful products of the GEMM +
/// col2im form. The four shifted copies of the input are stacked as GEMM K-blocks in the order
/// `(1,0), (0,0), (0,1), (1,1)`, so that every parity's taps are one contiguous range of blocks:
///
/// | parity (py, px) | blocks | taps (u, v) per block             |
/// |-----------------|--------|-----------------------------------|
/// | (0, 0)          | 1      | (1, 1)                            |
/// | (0, 1)          | 1…2    | (1, 2), (1, 0)                    |
/// | (1, 0)          | 0…1    | (0, 1), (2, 1)                    |
/// | (1, 1)          | 0…3    | (0, 2), (2, 2), (2, 0), (0, 0)    |
public struct SubPixelConvTranspose: Sendable {
    public let inChannels: Int, outChannels: Int
    /// The four parities' GEMM A matrices, back to back: parity `p = 2·py + px` is `(C_out, blocks_p·C_in)`,
    /// row `co`, column `(b − firstBlock_p)·C_in + ci` = `W[ci, co, u, v]` for block `b`'s tap; packed for the
    /// GEMMs.
    let weights: PackedWeights
    /// At bf16 with an even C_in, gather the shifted input straight into packed bf16 panels (`hae_subpixel.h`);
    /// false keeps the float32 copies the GEMM rounds as it packs them (tests compare the two: the same bits).
    let gathersPackedBF16: Bool

    /// Shift `(dy, dx)` of K-block `b`.
    @inline(__always) static func shift(_ block: Int) -> (dy: Int, dx: Int) {
        (block == 0 || block == 3 ? 1 : 0, block >= 2 ? 1 : 0)
    }

    /// K-blocks `[first, end)` of parity `p = 2·py + px`.
    @inline(__always) static func blocks(_ parity: Int) -> (first: Int, end: Int) {
        (parity >= 2 ? 0 : 1, parity == 1 ? 3 : (parity == 3 ? 4 : 2))
    }

    /// Kernel tap along one axis for an output of the given parity reading the input shifted by `d`.
    @inline(__always) static func tap(parity: Int, shift d: Int) -> Int { parity == 0 ? 1 : (d == 0 ? 2 : 0) }

    /// Float offset of parity `p`'s A matrix in ``weights`` (sizes 1, 2, 2, 4 × `C_out·C_in`).
    @inline(__always) func weightOffset(_ parity: Int) -> Int {
        outChannels &* inChannels &* (parity == 0 ? 0 : (parity == 1 ? 1 : (parity == 2 ? 3 : 5)))
    }

    /// - Parameter weight: PyTorch's `(C_in, C_out, 3, 3)`.
    /// - Parameter precision: what the four parity GEMMs run in (``PackedWeights``).
    public init(weight: [Float], inChannels: Int, outChannels: Int, precision: Precision = .fp32,
                gathersPackedBF16: Bool = true) {
        self.gathersPackedBF16 = gathersPackedBF16
        precondition(weight.count == inChannels * outChannels * 9)
        self.inChannels = inChannels
        self.outChannels = outChannels
        var a = [Float](repeating: 0, count: 9 * outChannels * inChannels)
        for parity in 0..<4 {
            let (first, end) = Self.blocks(parity)
            let k = (end - first) * inChannels
            let offset = outChannels * inChannels * (parity == 0 ? 0 : (parity == 1 ? 1 : (parity == 2 ? 3 : 5)))
            for block in first..<end {
                let (dy, dx) = Self.shift(block)
                let u = Self.tap(parity: parity >> 1, shift: dy), v = Self.tap(parity: parity & 1, shift: dx)
                for co in 0..<outChannels {
                    for ci in 0..<inChannels {
                        a[offset + co * k + (block - first) * inChannels + ci] = weight[((ci * outChannels + co) * 3 + u) * 3 + v]
                    }
                }
            }
        }
        weights = PackedWeights(rowMajor: consume a, rows: outChannels, matrices: (0..<4).map { parity in
            let (first, end) = Self.blocks(parity)
            return (offset: outChannels * inChannels * (parity == 0 ? 0 : (parity == 1 ? 1 : (parity == 2 ? 3 : 5))),
                    columns: (end - first) * inChannels)
        }, precision: precision)
    }

    /// - Parameters:
    ///   - input: `(C_in, N, H, W)`.
    ///   - bias: `(C_out)`.
    ///   - output: `(C_out, N, 2H, 2W)`, fully overwritten (it may be the front of a concat buffer).
    ///   - scratch: per tile of input rows, the shifted inputs `(4·C_in, rows·W)` and the parity planes
    ///     `(4, C_out, rows·W)`.
    public func forward(input: UnsafePointer<Float>, shape: FeatureShape, bias: UnsafePointer<Float>,
                        output: UnsafeMutablePointer<Float>, scratch: inout ScratchBuffer) {
        precondition(shape.channels == inChannels)
        let width = shape.width
        let totalRows = shape.batch * shape.height               // global input row g = n·H + i
        let rowsPerTile = scratch.rowsPerTile(floatsPerRow: 4 * (inChannels + outChannels) * width,
                                              rowWidth: width, totalRows: totalRows)
        let tileCapacity = rowsPerTile * width
        // At bf16 (an even C_in) the shifted copies go straight into the kernel's packed B panels
        // (`hae_subpixel.h`): (⌈n/32⌉, 2·C_in pairs, 32, 2) bf16.
        let prepacked = gathersPackedBF16 && weights.acceptsPrepackedBF16 && inChannels % 2 == 0
        let shiftedFloats = prepacked ? BF16Panels.scratchFloats(columns: tileCapacity, depth: 4 * inChannels)
                                      : 4 * inChannels * tileCapacity
        let buffer = scratch.reserve(shiftedFloats + 4 * outChannels * tileCapacity)
        let shifted = buffer                                     // (4·C_in, rows·W)
        let packed = BF16Panels.packedB(in: buffer)
        let planes = buffer + shiftedFloats                      // (4, C_out, rows·W)
        let threads = scratch.threads
        var firstRow = 0
        while firstRow < totalRows {
            let rows = min(rowsPerTile, totalRows - firstRow)
            let n = rows * width
            if prepacked {
                Parallel.forEach(2 * inChannels, parts: threads) { _, pairs in
                    hae_subpixel_gather_bf16(input, inChannels, shape.batch, shape.height, width, firstRow, rows,
                                             pairs.lowerBound, pairs.count, packed)
                }
            } else {
                Parallel.forEach(4 * inChannels, parts: threads) { _, blockRows in
                    gatherShifted(input, blockRows: blockRows, shape: shape, firstRow: firstRow, rowCount: rows,
                                  into: shifted)
                }
            }
            for parity in 0..<4 {
                let (first, end) = Self.blocks(parity)
                let k = (end - first) * inChannels
                // (C_out, k) · (k, rows·W) → parity plane (C_out, rows·W).
                if prepacked {
                    weights.multiplyPrepacked(matrixAt: weightOffset(parity), columns: k, n: n,
                                              packedB: packed + first * inChannels / 2 * 64, panelPairs: 2 * inChannels,
                                              c: planes + parity * outChannels * n, ldc: n, parts: threads)
                } else {
                    weights.multiply(matrixAt: weightOffset(parity), columns: k, n: n,
                                     b: shifted + first * inChannels * n, ldb: n,
                                     c: planes + parity * outChannels * n, ldc: n, parts: threads)
                }
            }
            Parallel.forEach(outChannels, parts: threads) { _, channels in
                interleave(planes, channels: channels, planeStride: outChannels * n, shape: shape,
                           firstRow: firstRow, rowCount: rows, bias: bias, output: output)
            }
            firstRow += rows
        }
    }

    private func gatherShifted(_ input: UnsafePointer<Float>, blockRows: Range<Int>, shape: FeatureShape,
                               firstRow: Int, rowCount: Int, into shifted: UnsafeMutablePointer<Float>) {
        let height = shape.height, width = shape.width, plane = shape.plane
        let rowLength = rowCount &* width
        for blockRow in blockRows {                              // blockRow = block·C_in + ci
            let block = blockRow / inChannels, ci = blockRow &- block &* inChannels
            let (dy, dx) = Self.shift(block)
            let channel = input + ci &* shape.batch &* plane
            var destination = shifted + blockRow &* rowLength
            for g in firstRow..<(firstRow &+ rowCount) {
                let n = g / height, i = g &- n &* height
                if i &+ dy >= height {
                    destination.update(repeating: 0, count: width)
                } else {
                    destination.update(from: channel + (n &* plane &+ (i &+ dy) &* width &+ dx), count: width &- dx)
                    if dx == 1 { destination[width &- 1] = 0 }
                }
                destination += width
            }
        }
    }

    /// `output[co, n, 2i + py, 2j + px] = planes[2·py + px][co, r·W + j] + bias[co]` for `co` in `channels`.
    private func interleave(_ planes: UnsafePointer<Float>, channels: Range<Int>, planeStride: Int, shape: FeatureShape,
                            firstRow: Int, rowCount: Int, bias: UnsafePointer<Float>,
                            output: UnsafeMutablePointer<Float>) {
        let height = shape.height, width = shape.width
        let outWidth = 2 &* width, outPlane = 4 &* shape.plane
        let rowLength = rowCount &* width
        for co in channels {
            let b = bias[co]
            let channel = output + co &* shape.batch &* outPlane
            for r in 0..<rowCount {
                let g = firstRow &+ r
                let n = g / height, i = g &- n &* height
                let p0 = planes + (co &* rowLength &+ r &* width)
                let p1 = p0 + planeStride, p2 = p1 + planeStride, p3 = p2 + planeStride
                let top = channel + (n &* outPlane &+ 2 &* i &* outWidth), bottom = top + outWidth
                hae_subpixel_interleave_add(p0, p1, top, width, b)
                hae_subpixel_interleave_add(p2, p3, bottom, width, b)
            }
        }
    }
}
