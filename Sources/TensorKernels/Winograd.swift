/// 3×3, stride 1, padding 1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray 2016):
/// each 2×2 output tile costs 16 multiplies per channel pair instead of 36. Used for the decoder's fuse
/// convolutions, two thirds of the model's FLOPs. No bias or activation here: ``Conv2d`` applies its epilogue.
///
/// `Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A` per tile; the elementwise products over all channel pairs become 16
/// GEMMs `M[ξ] (C_out × T) = U[ξ] (C_out × C_in) · V[ξ] (C_in × T)`, one per position ξ of the 4×4 tile.
public struct WinogradConv3x3: Sendable {
    public let inChannels: Int, outChannels: Int
    /// `U`: `(16, C_out, C_in)` — the filters transformed once at load time, `U = G g Gᵀ`.
    let transformedWeight: [Float]

    /// - Parameter weight: PyTorch's `(C_out, C_in, 3, 3)`.
    public init(weight: [Float], inChannels: Int, outChannels: Int) {
        precondition(weight.count == outChannels * inChannels * 9)
        self.inChannels = inChannels
        self.outChannels = outChannels
        var u = [Float](repeating: 0, count: 16 * outChannels * inChannels)
        for co in 0..<outChannels {
            for ci in 0..<inChannels {
                let f = weight.withUnsafeBufferPointer { $0.baseAddress! + (co * inChannels + ci) * 9 }
                // G g: rows g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2 (g_a = filter row a), in Double.
                var gg = [Double](repeating: 0, count: 12)   // (4, 3)
                for b in 0..<3 {
                    let g0 = Double(f[b]), g1 = Double(f[3 + b]), g2 = Double(f[6 + b])
                    gg[b] = g0
                    gg[3 + b] = (g0 + g1 + g2) / 2
                    gg[6 + b] = (g0 - g1 + g2) / 2
                    gg[9 + b] = g2
                }
                // (G g) Gᵀ: the same combination along each row.
                for i in 0..<4 {
                    let r0 = gg[i * 3], r1 = gg[i * 3 + 1], r2 = gg[i * 3 + 2]
                    let row = [r0, (r0 + r1 + r2) / 2, (r0 - r1 + r2) / 2, r2]
                    for j in 0..<4 { u[((i * 4 + j) * outChannels + co) * inChannels + ci] = Float(row[j]) }
                }
            }
        }
        transformedWeight = u
    }

    /// Whole tile rows per chunk, so the chunk's `V` and `M` matrices stay a few MB.
    static func tileRowsPerChunk(tilesWide: Int, inChannels: Int, outChannels: Int, limit: Int) -> Int {
        max(1, limit / (16 * (inChannels + outChannels) * tilesWide))
    }

    /// - Parameters:
    ///   - input: `(C_in, N, H, W)`.
    ///   - output: `(C_out, N, H, W)`, overwritten with `activation(conv + bias)`.
    ///   - bias: `(C_out)`, or nil for none; with `activation`, the epilogue of ``Conv2d``, fused into the
    ///     output transform while each output row is still in L1.
    public func forward(input: UnsafePointer<Float>, shape: FeatureShape, output: UnsafeMutablePointer<Float>,
                        bias: UnsafePointer<Float>? = nil, activation: Activation = .identity,
                        scratch: inout ScratchBuffer) {
        precondition(shape.channels == inChannels)
        let tilesHigh = (shape.height + 1) / 2, tilesWide = (shape.width + 1) / 2
        let tileRows = shape.batch * tilesHigh                // global tile row g = n·tilesHigh + ty
        let rowsPerChunk = min(tileRows, Self.tileRowsPerChunk(tilesWide: tilesWide, inChannels: inChannels,
                                                               outChannels: outChannels, limit: scratch.chunkLimit * 4))
        let chunk = rowsPerChunk * tilesWide                  // tiles per chunk
        let rowScratch = 4 * (2 * tilesWide + 2) + shape.width + 12 * tilesWide   // see the transforms
        let threads = scratch.threads
        let buffer = scratch.reserve(16 * (inChannels + outChannels) * chunk + rowScratch * threads)
        let v = buffer                                        // (16, C_in, chunk)
        let m = buffer + 16 * inChannels * chunk              // (16, C_out, chunk)
        let rows = m + 16 * outChannels * chunk               // per-row transform scratch, one per thread
        transformedWeight.withUnsafeBufferPointer { u in
            var firstRow = 0
            while firstRow < tileRows {
                let rowCount = min(rowsPerChunk, tileRows - firstRow)
                let count = rowCount * tilesWide
                Parallel.forEach(inChannels, parts: threads) { part, channels in
                    transformInput(input, channels: channels, shape: shape, tilesHigh: tilesHigh, tilesWide: tilesWide,
                                   firstRow: firstRow, rowCount: rowCount, stride: chunk, into: v,
                                   scratch: rows + part * rowScratch)
                }
                for xi in 0..<16 {
                    BLAS.sgemm(m: outChannels, n: count, k: inChannels,
                               a: u.baseAddress! + xi * outChannels * inChannels, lda: inChannels,
                               b: v + xi * inChannels * chunk, ldb: chunk,
                               c: m + xi * outChannels * chunk, ldc: chunk)
                }
                Parallel.forEach(outChannels, parts: threads) { part, channels in
                    transformOutput(m, channels: channels, stride: chunk, firstRow: firstRow, rowCount: rowCount,
                                    shape: shape, tilesHigh: tilesHigh, tilesWide: tilesWide, bias: bias,
                                    activation: activation, into: output, scratch: rows + part * rowScratch)
                }
                firstRow += rowCount
            }
        }
    }

    /// `V[ξ, c, t] = (Bᵀ d B)[ξ]` for the 4×4 input patch `d` at `(2·ty − 1, 2·tx − 1)`, zeros outside,
    /// a whole row of tiles at a time: first `Bᵀ d` down the four input rows (contiguous), then `· B` along
    /// them (stride 2). Each loop touches at most four pointers so the vectorizer's alias checks stay cheap.
    private func transformInput(_ input: UnsafePointer<Float>, channels: Range<Int>, shape: FeatureShape, tilesHigh: Int, tilesWide: Int,
                                firstRow: Int, rowCount: Int, stride: Int, into v: UnsafeMutablePointer<Float>,
                                scratch: UnsafeMutablePointer<Float>) {
        let height = shape.height, width = shape.width, plane = shape.plane
        let xiStride = inChannels &* stride
        let extent = 2 &* tilesWide &+ 2                      // input columns −1 … 2·tilesWide
        let t = scratch                                       // (4, extent): Bᵀ d, rows d0−d2, d1+d2, d2−d1, d1−d3
        let zero = scratch + 4 &* extent                      // (W): stands in for rows outside the image
        zero.update(repeating: 0, count: width)
        for i in 0..<4 {                                      // the padding columns, never written below
            t[i &* extent] = 0
            (t + (i &* extent &+ width &+ 1)).update(repeating: 0, count: extent &- width &- 1)
        }
        let t0 = t + 1, t1 = t0 + extent, t2 = t1 + extent, t3 = t2 + extent   // column 0 of each row
        for c in channels {
            let channel = input + c &* shape.batch &* plane
            for r in 0..<rowCount {
                let g = firstRow &+ r
                let n = g / tilesHigh, ty = g &- n &* tilesHigh
                let image = channel + n &* plane
                @inline(__always) func row(_ a: Int) -> UnsafePointer<Float> {
                    let y = 2 &* ty &- 1 &+ a
                    return y >= 0 && y < height ? image + y &* width : UnsafePointer(zero)
                }
                let d0 = row(0), d1 = row(1), d2 = row(2), d3 = row(3)
                for j in 0..<width { t0[j] = d0[j] - d2[j] }
                for j in 0..<width { t1[j] = d1[j] + d2[j] }
                for j in 0..<width { t2[j] = d2[j] - d1[j] }
                for j in 0..<width { t3[j] = d1[j] - d3[j] }
                // V[4i + j] = (t_i B)[j] over the extended row e = column + 1: tile tx spans e = 2tx … 2tx + 3.
                let target = v + (c &* stride &+ r &* tilesWide)
                for i in 0..<4 {
                    let e = UnsafePointer(t + i &* extent)
                    let v0: UnsafeMutablePointer<Float> = target + (4 &* i) &* xiStride
                    let v1 = v0 + xiStride, v2 = v1 + xiStride, v3 = v2 + xiStride
                    var tx = 0
                    while tx &+ 8 <= tilesWide {                 // 8 tiles: e[2tx …< 2tx + 18], split even/odd
                        let here = (e + 2 &* tx).load16(), next = (e + (2 &* tx &+ 2)).load16()
                        let e0 = here.evenHalf, o0 = here.oddHalf, e1 = next.evenHalf, o1 = next.oddHalf
                        (v0 + tx).store(e0 - e1)
                        (v1 + tx).store(o0 + e1)
                        (v2 + tx).store(e1 - o0)
                        (v3 + tx).store(o0 - o1)
                        tx &+= 8
                    }
                    while tx < tilesWide {
                        let e0 = e[2 &* tx], o0 = e[2 &* tx &+ 1], e1 = e[2 &* tx &+ 2], o1 = e[2 &* tx &+ 3]
                        v0[tx] = e0 - e1
                        v1[tx] = o0 + e1
                        v2[tx] = e1 - o0
                        v3[tx] = o0 - o1
                        tx &+= 1
                    }
                }
            }
        }
    }

    /// `Y = Aᵀ M A` per tile, a row of tiles at a time: `Aᵀ M` down the tile (contiguous), `· A` along it
    /// (stride-2 stores into two output rows), then the epilogue while copying the rows that lie inside the
    /// image to the output.
    private func transformOutput(_ m: UnsafePointer<Float>, channels: Range<Int>, stride: Int, firstRow: Int, rowCount: Int,
                                 shape: FeatureShape, tilesHigh: Int, tilesWide: Int,
                                 bias: UnsafePointer<Float>?, activation: Activation,
                                 into output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let height = shape.height, width = shape.width, plane = shape.plane
        let xiStride = outChannels &* stride
        let a = scratch + (4 &* (2 &* tilesWide &+ 2) &+ width)  // (8, tilesWide): rows m0+m1+m2 (×4), m1−m2−m3 (×4)
        let top = a + 8 &* tilesWide, bottom = top + 2 &* tilesWide   // two output rows, 2·tilesWide wide
        for co in channels {
            let channel = output + co &* shape.batch &* plane
            let b = bias?[co] ?? 0
            for r in 0..<rowCount {
                let g = firstRow &+ r
                let n = g / tilesHigh, ty = g &- n &* tilesHigh
                let source = m + (co &* stride &+ r &* tilesWide)
                for j in 0..<4 {
                    let step: Int = 4 &* xiStride
                    let m0: UnsafePointer<Float> = source + j &* xiStride
                    let m1 = m0 + step, m2 = m1 + step, m3 = m2 + step
                    let upper = a + j &* tilesWide, lower = a + (4 &+ j) &* tilesWide
                    for tx in 0..<tilesWide { upper[tx] = m0[tx] + m1[tx] + m2[tx] }
                    for tx in 0..<tilesWide { lower[tx] = m1[tx] - m2[tx] - m3[tx] }
                }
                Self.rowTimesA(a, tilesWide: tilesWide, into: top)
                Self.rowTimesA(a + 4 &* tilesWide, tilesWide: tilesWide, into: bottom)
                let y = 2 &* ty
                let image = channel + n &* plane
                Epilogue.apply(activation, from: top, to: image + y &* width, count: width, bias: b)
                if y &+ 1 < height {
                    Epilogue.apply(activation, from: bottom, to: image + (y &+ 1) &* width, count: width, bias: b)
                }
            }
        }
    }

    /// `out[2tx] = s0 + s1 + s2`, `out[2tx + 1] = s1 − s2 − s3` for the four rows `s_j = s + j·tilesWide`.
    @inline(__always)
    private static func rowTimesA(_ s: UnsafePointer<Float>, tilesWide: Int, into out: UnsafeMutablePointer<Float>) {
        let s0 = s, s1 = s0 + tilesWide, s2 = s1 + tilesWide, s3 = s2 + tilesWide
        var tx = 0
        while tx &+ 8 <= tilesWide {
            let a0 = (s0 + tx).load8(), a1 = (s1 + tx).load8(), a2 = (s2 + tx).load8(), a3 = (s3 + tx).load8()
            (out + 2 &* tx).store(interleave(a0 + a1 + a2, a1 - a2 - a3))
            tx &+= 8
        }
        while tx < tilesWide {
            out[2 &* tx] = s0[tx] + s1[tx] + s2[tx]
            out[2 &* tx &+ 1] = s1[tx] - s2[tx] - s3[tx]
            tx &+= 1
        }
    }
}
