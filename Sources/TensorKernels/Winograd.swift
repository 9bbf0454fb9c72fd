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
    ///   - output: `(C_out, N, H, W)`, overwritten (before bias).
    public func forward(input: UnsafePointer<Float>, shape: FeatureShape, output: UnsafeMutablePointer<Float>,
                        scratch: inout ScratchBuffer) {
        precondition(shape.channels == inChannels)
        let tilesHigh = (shape.height + 1) / 2, tilesWide = (shape.width + 1) / 2
        let tileRows = shape.batch * tilesHigh                // global tile row g = n·tilesHigh + ty
        let rowsPerChunk = min(tileRows, Self.tileRowsPerChunk(tilesWide: tilesWide, inChannels: inChannels,
                                                               outChannels: outChannels, limit: scratch.chunkLimit * 4))
        let chunk = rowsPerChunk * tilesWide                  // tiles per chunk
        let rowScratch = 16 * tilesWide + 2 * tilesWide + 4   // 4×4 rows of h, plus a padded input row
        let buffer = scratch.reserve(16 * (inChannels + outChannels) * chunk + rowScratch)
        let v = buffer                                        // (16, C_in, chunk)
        let m = buffer + 16 * inChannels * chunk              // (16, C_out, chunk)
        let rows = m + 16 * outChannels * chunk               // per-row transform scratch
        transformedWeight.withUnsafeBufferPointer { u in
            var firstRow = 0
            while firstRow < tileRows {
                let rowCount = min(rowsPerChunk, tileRows - firstRow)
                let count = rowCount * tilesWide
                transformInput(input, shape: shape, tilesHigh: tilesHigh, tilesWide: tilesWide,
                               firstRow: firstRow, rowCount: rowCount, stride: chunk, into: v, scratch: rows)
                for xi in 0..<16 {
                    BLAS.sgemm(m: outChannels, n: count, k: inChannels,
                               a: u.baseAddress! + xi * outChannels * inChannels, lda: inChannels,
                               b: v + xi * inChannels * chunk, ldb: chunk,
                               c: m + xi * outChannels * chunk, ldc: chunk)
                }
                transformOutput(m, stride: chunk, firstRow: firstRow, rowCount: rowCount, shape: shape,
                                tilesHigh: tilesHigh, tilesWide: tilesWide, into: output, scratch: rows)
                firstRow += rowCount
            }
        }
    }

    /// `V[ξ, c, t] = (Bᵀ d B)[ξ]` for the 4×4 input patch `d` at `(2·ty − 1, 2·tx − 1)`, zeros outside,
    /// a whole row of tiles at a time so every step runs along contiguous (or stride-2) memory.
    private func transformInput(_ input: UnsafePointer<Float>, shape: FeatureShape, tilesHigh: Int, tilesWide: Int,
                                firstRow: Int, rowCount: Int, stride: Int, into v: UnsafeMutablePointer<Float>,
                                scratch: UnsafeMutablePointer<Float>) {
        let height = shape.height, width = shape.width, plane = shape.plane
        let xiStride = inChannels &* stride
        let h = scratch                                     // (4 rows a, 4 columns b, tilesWide): d·B per input row
        // One input row, zero-extended by one on each side and split into even and odd positions of the
        // extended row, so the stride-2 tile windows become contiguous (vectorizable) arithmetic.
        let even = scratch + 16 &* tilesWide                 // extended[2k]   = row[2k − 1], k ≤ tilesWide
        let odd = even + (tilesWide &+ 1)                     // extended[2k+1] = row[2k]
        for c in 0..<inChannels {
            let channel = input + c &* shape.batch &* plane
            for r in 0..<rowCount {
                let g = firstRow &+ r
                let n = g / tilesHigh, ty = g &- n &* tilesHigh
                let image = channel + n &* plane
                // Horizontal: h[a, j, tx] = (d B)[a, j] for the 4 input rows a of this tile row.
                for a in 0..<4 {
                    let y = 2 &* ty &- 1 &+ a
                    even.update(repeating: 0, count: 2 &* tilesWide &+ 2)
                    if y >= 0 && y < height {
                        let row = image + y &* width
                        for k in 1...tilesWide where 2 &* k &- 1 < width { even[k] = row[2 &* k &- 1] }
                        for k in 0..<tilesWide where 2 &* k < width { odd[k] = row[2 &* k] }
                    }
                    let h0 = h + (a &* 4) &* tilesWide, h1 = h0 + tilesWide, h2 = h1 + tilesWide, h3 = h2 + tilesWide
                    for tx in 0..<tilesWide {
                        h0[tx] = even[tx] - even[tx &+ 1]
                        h1[tx] = odd[tx] + even[tx &+ 1]
                        h2[tx] = even[tx &+ 1] - odd[tx]
                        h3[tx] = odd[tx] - odd[tx &+ 1]
                    }
                }
                // Vertical: V[i·4 + j] from rows a = 0…3, contiguous along tx.
                let target = v + (c &* stride &+ r &* tilesWide)
                for j in 0..<4 {
                    let d0 = h + j &* tilesWide, d1 = d0 + 4 &* tilesWide, d2 = d1 + 4 &* tilesWide, d3 = d2 + 4 &* tilesWide
                    let v0 = target + j &* xiStride, v1 = v0 + 4 &* xiStride, v2 = v1 + 4 &* xiStride, v3 = v2 + 4 &* xiStride
                    for tx in 0..<tilesWide {
                        v0[tx] = d0[tx] - d2[tx]
                        v1[tx] = d1[tx] + d2[tx]
                        v2[tx] = d2[tx] - d1[tx]
                        v3[tx] = d1[tx] - d3[tx]
                    }
                }
            }
        }
    }

    /// `Y = Aᵀ M A` per tile, a row of tiles at a time, written where the output lies inside the image.
    private func transformOutput(_ m: UnsafePointer<Float>, stride: Int, firstRow: Int, rowCount: Int,
                                 shape: FeatureShape, tilesHigh: Int, tilesWide: Int,
                                 into output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let height = shape.height, width = shape.width, plane = shape.plane
        let xiStride = outChannels &* stride
        let top = scratch, bottom = scratch + 2 &* tilesWide   // two output rows, 2·tilesWide wide
        for co in 0..<outChannels {
            let channel = output + co &* shape.batch &* plane
            for r in 0..<rowCount {
                let g = firstRow &+ r
                let n = g / tilesHigh, ty = g &- n &* tilesHigh
                let source = m + (co &* stride &+ r &* tilesWide)
                @inline(__always) func at(_ i: Int, _ j: Int) -> UnsafePointer<Float> { source + (i &* 4 &+ j) &* xiStride }
                let m00 = at(0, 0), m01 = at(0, 1), m02 = at(0, 2), m03 = at(0, 3)
                let m10 = at(1, 0), m11 = at(1, 1), m12 = at(1, 2), m13 = at(1, 3)
                let m20 = at(2, 0), m21 = at(2, 1), m22 = at(2, 2), m23 = at(2, 3)
                let m30 = at(3, 0), m31 = at(3, 1), m32 = at(3, 2), m33 = at(3, 3)
                for tx in 0..<tilesWide {
                    // Aᵀ M: rows m0 + m1 + m2 and m1 − m2 − m3; then · A along each row.
                    let a00 = m00[tx] + m10[tx] + m20[tx], a01 = m01[tx] + m11[tx] + m21[tx]
                    let a02 = m02[tx] + m12[tx] + m22[tx], a03 = m03[tx] + m13[tx] + m23[tx]
                    let a10 = m10[tx] - m20[tx] - m30[tx], a11 = m11[tx] - m21[tx] - m31[tx]
                    let a12 = m12[tx] - m22[tx] - m32[tx], a13 = m13[tx] - m23[tx] - m33[tx]
                    top[2 &* tx] = a00 + a01 + a02
                    top[2 &* tx &+ 1] = a01 - a02 - a03
                    bottom[2 &* tx] = a10 + a11 + a12
                    bottom[2 &* tx &+ 1] = a11 - a12 - a13
                }
                let y = 2 &* ty
                let image = channel + n &* plane
                (image + y &* width).update(from: top, count: width)
                if y &+ 1 < height { (image + (y &+ 1) &* width).update(from: bottom, count: width) }
            }
        }
    }
}
