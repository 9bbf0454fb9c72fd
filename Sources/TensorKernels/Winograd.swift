import CGEMMKernel

/// 3×3, stride 1, padding 1 convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray 2016,
/// interpolation points 0, ±1, ±2, ∞): a 4×4 output tile costs 36 multiplies per channel pair, against 144
/// directly and 64 with F(2×2, 3×3). Used for the decoder's fuse convolutions, two thirds of the model's FLOPs.
/// The larger transforms round a little more than F(2×2, 3×3): the model's max abs difference from PyTorch
/// went from 2e-6 to 4e-6 (worst block 7e-6; the parity bar is 1e-4). No bias or activation of its own:
/// ``Conv2d`` hands in its epilogue.
///
/// `Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A` per tile; the elementwise products over all channel pairs become 36
/// GEMMs `M[ξ] (C_out × T) = U[ξ] (C_out × C_in) · V[ξ] (C_in × T)`, one per position ξ of the 6×6 tile.
///
/// ```swift
/// let conv = WinogradConv3x3(weight: w, inChannels: 128, outChannels: 64)   // w: (64, 128, 3, 3)
/// conv.forward(input: x, shape: shape, output: y, bias: b, activation: .gelu, scratch: &scratch)
/// ```
public struct WinogradConv3x3: Sendable {
    public let inChannels: Int, outChannels: Int
    /// `U`: `(36, C_out, C_in)` — the filters transformed once at load time, `U = G g Gᵀ`, and packed for the
    /// GEMMs.
    let transformedWeight: PackedWeights
    /// Whether the AVX-512 transforms of CGEMMKernel (`hae_winograd.h`, ``forwardVectorized``) run, else the Swift
    /// ones below: by default wherever the CPU has them; tests pass false to check the Swift ones here.
    let vectorTransforms: Bool

    /// Whether this CPU runs the AVX-512 transforms (AVX-512F, checked once).
    public static let vectorTransformsAvailable = hae_winograd_available() == 1

    /// `G` (6×3), row-major.
    private static let filterTransform: [Double] = [
        1.0 / 4, 0, 0,
        -1.0 / 6, -1.0 / 6, -1.0 / 6,
        -1.0 / 6, 1.0 / 6, -1.0 / 6,
        1.0 / 24, 1.0 / 12, 1.0 / 6,
        1.0 / 24, -1.0 / 12, 1.0 / 6,
        0, 0, 1,
    ]

    /// - Parameter weight: PyTorch's `(C_out, C_in, 3, 3)`.
    /// - Parameter precision: what the 36 GEMMs run in (``PackedWeights``); the transforms are float32.
    /// - Parameter vectorTransforms: see ``vectorTransforms`` (false where the CPU lacks them, whatever is asked).
    public init(weight: [Float], inChannels: Int, outChannels: Int, precision: Precision = .fp32,
                vectorTransforms: Bool = WinogradConv3x3.vectorTransformsAvailable) {
        precondition(weight.count == outChannels * inChannels * 9)
        self.vectorTransforms = vectorTransforms && Self.vectorTransformsAvailable
        self.inChannels = inChannels
        self.outChannels = outChannels
        let g = Self.filterTransform
        var u = [Float](repeating: 0, count: 36 * outChannels * inChannels)
        var gf = [Double](repeating: 0, count: 18)                // (6, 3): G · f, in Double
        for co in 0..<outChannels {
            for ci in 0..<inChannels {
                let base = (co * inChannels + ci) * 9
                for i in 0..<6 {
                    for b in 0..<3 {
                        var sum = 0.0
                        for a in 0..<3 { sum += g[i * 3 + a] * Double(weight[base + a * 3 + b]) }
                        gf[i * 3 + b] = sum
                    }
                }
                for i in 0..<6 {
                    for j in 0..<6 {
                        var sum = 0.0
                        for b in 0..<3 { sum += gf[i * 3 + b] * g[j * 3 + b] }
                        u[((i * 6 + j) * outChannels + co) * inChannels + ci] = Float(sum)
                    }
                }
            }
        }
        let size = outChannels * inChannels
        transformedWeight = PackedWeights(rowMajor: consume u, rows: outChannels,
                                          matrices: (0..<36).map { (offset: $0 * size, columns: inChannels) },
                                          precision: precision)
    }

    /// Floats of per-thread row scratch the transforms need for rows of `tilesWide` tiles over `width` columns.
    static func rowScratch(width: Int, tilesWide: Int) -> Int {
        6 * (4 * tilesWide + 2) + 8 + width + 24 * tilesWide + 16 * tilesWide + 16
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
        if vectorTransforms {
            forwardVectorized(input: input, shape: shape, output: output, bias: bias, activation: activation,
                              scratch: &scratch)
            return
        }
        let tilesHigh = (shape.height + 3) / 4, tilesWide = (shape.width + 3) / 4
        let tileRows = shape.batch * tilesHigh                // global tile row g = n·tilesHigh + ty
        let byCache = scratch.chunkLimit * 4 / (36 * (inChannels + outChannels) * tilesWide)
        let rowsPerChunk = min(tileRows, max(1, byCache))
        let chunk = rowsPerChunk * tilesWide                  // tiles per chunk
        let rowScratch = Self.rowScratch(width: shape.width, tilesWide: tilesWide)
        let threads = scratch.threads
        let buffer = scratch.reserve(36 * (inChannels + outChannels) * chunk + rowScratch * threads)
        let v = buffer                                        // (36, C_in, chunk)
        let m = buffer + 36 * inChannels * chunk              // (36, C_out, chunk)
        let rows = m + 36 * outChannels * chunk               // per-row transform scratch, one per thread
        var firstRow = 0
        while firstRow < tileRows {
            let rowCount = min(rowsPerChunk, tileRows - firstRow)
            let count = rowCount * tilesWide
            Parallel.forEach(inChannels, parts: threads) { part, channels in
                transformInput(input, channels: channels, shape: shape, tilesHigh: tilesHigh, tilesWide: tilesWide,
                               firstRow: firstRow, rowCount: rowCount, stride: chunk, into: v,
                               scratch: rows + part * rowScratch)
            }
            // The 36 GEMMs are independent: split them across the threads (each one single-threaded).
            Parallel.forEach(36, parts: threads) { _, positions in
                for xi in positions {
                    transformedWeight.multiply(matrixAt: xi * outChannels * inChannels, columns: inChannels,
                                               n: count, b: v + xi * inChannels * chunk, ldb: chunk,
                                               c: m + xi * outChannels * chunk, ldc: chunk)
                }
            }
            Parallel.forEach(outChannels, parts: threads) { part, channels in
                transformOutput(m, channels: channels, stride: chunk, firstRow: firstRow, rowCount: rowCount,
                                shape: shape, tilesHigh: tilesHigh, tilesWide: tilesWide, bias: bias,
                                activation: activation, into: output, scratch: rows + part * rowScratch)
            }
            firstRow += rowCount
        }
    }

    /// `V[ξ, c, t] = (Bᵀ d B)[ξ]` for the 6×6 input patch `d` at `(4·ty − 1, 4·tx − 1)`, zeros outside,
    /// a whole row of tiles at a time: `Bᵀ d` down the six input rows (contiguous), then `· B` along them.
    private func transformInput(_ input: UnsafePointer<Float>, channels: Range<Int>, shape: FeatureShape,
                                tilesHigh: Int, tilesWide: Int, firstRow: Int, rowCount: Int, stride: Int,
                                into v: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let height = shape.height, width = shape.width, plane = shape.plane
        let xiStride = inChannels &* stride
        let extent = 4 &* tilesWide &+ 2                      // input columns −1 … 4·tilesWide
        let t = scratch                                       // (6, extent) + 8 slack: Bᵀ d
        let zero = scratch + (6 &* extent &+ 8)               // (W): stands in for rows outside the image
        zero.update(repeating: 0, count: width)
        for i in 0..<6 {                                      // the padding columns, never written below
            t[i &* extent] = 0
            (t + (i &* extent &+ width &+ 1)).update(repeating: 0, count: extent &- width &- 1)
        }
        (t + 6 &* extent).update(repeating: 0, count: 8)      // read (and discarded) by the last row's 4-tile loads
        for c in channels {
            let channel = input + c &* shape.batch &* plane
            for r in 0..<rowCount {
                let g = firstRow &+ r
                let n = g / tilesHigh, ty = g &- n &* tilesHigh
                let image = channel + n &* plane
                @inline(__always) func row(_ a: Int) -> UnsafePointer<Float> {
                    let y = 4 &* ty &- 1 &+ a
                    return y >= 0 && y < height ? image + y &* width : UnsafePointer(zero)
                }
                Self.transformColumns(row(0), row(1), row(2), row(3), row(4), row(5), count: width,
                                      into: t + 1, extent: extent)
                let target = v + (c &* stride &+ r &* tilesWide)
                for i in 0..<6 {
                    Self.transformRow(t + i &* extent, tilesWide: tilesWide, into: target + (6 &* i) &* xiStride,
                                      xiStride: xiStride)
                }
            }
        }
    }

    /// `Bᵀ d` for six input rows: writes row `i` at `t + i·extent`, columns `0..<count`.
    @inline(__always)
    private static func transformColumns(_ d0: UnsafePointer<Float>, _ d1: UnsafePointer<Float>,
                                         _ d2: UnsafePointer<Float>, _ d3: UnsafePointer<Float>,
                                         _ d4: UnsafePointer<Float>, _ d5: UnsafePointer<Float>,
                                         count: Int, into t: UnsafeMutablePointer<Float>, extent: Int) {
        let t0 = t, t1 = t0 + extent, t2 = t1 + extent, t3 = t2 + extent, t4 = t3 + extent, t5 = t4 + extent
        var j = 0
        while j &+ 8 <= count {
            let y = inputTransform((d0 + j).load8(), (d1 + j).load8(), (d2 + j).load8(),
                                   (d3 + j).load8(), (d4 + j).load8(), (d5 + j).load8())
            (t0 + j).store(y.0); (t1 + j).store(y.1); (t2 + j).store(y.2)
            (t3 + j).store(y.3); (t4 + j).store(y.4); (t5 + j).store(y.5)
            j &+= 8
        }
        while j < count {
            let y = inputTransform(d0[j], d1[j], d2[j], d3[j], d4[j], d5[j])
            t0[j] = y.0; t1[j] = y.1; t2[j] = y.2; t3[j] = y.3; t4[j] = y.4; t5[j] = y.5
            j &+= 1
        }
    }

    /// `· B` along one row `e` of `Bᵀ d` (extended column index): tile `tx` reads `e[4tx … 4tx + 5]` and writes
    /// `V[ξ = 6i + j]` for `j = 0…5` at `v + j·xiStride + tx`. Four tiles per step: five loads and a transpose.
    @inline(__always)
    private static func transformRow(_ e: UnsafePointer<Float>, tilesWide: Int, into v: UnsafeMutablePointer<Float>,
                                     xiStride: Int) {
        let v0 = v, v1 = v0 + xiStride, v2 = v1 + xiStride, v3 = v2 + xiStride, v4 = v3 + xiStride, v5 = v4 + xiStride
        var tx = 0
        while tx &+ 4 <= tilesWide {
            // r_i = e[4(tx + i) …< 4(tx + i) + 4]; x_k = lane k of r0…r3 (a 4×4 transpose), x4/x5 from r1…r4.
            let p = e + 4 &* tx
            let r0 = p.load4(), r1 = (p + 4).load4(), r2 = (p + 8).load4(), r3 = (p + 12).load4()
            let r4 = (p + 16).load4()
            let y = inputTransform(Vector4(r0[0], r1[0], r2[0], r3[0]), Vector4(r0[1], r1[1], r2[1], r3[1]),
                                   Vector4(r0[2], r1[2], r2[2], r3[2]), Vector4(r0[3], r1[3], r2[3], r3[3]),
                                   Vector4(r1[0], r2[0], r3[0], r4[0]), Vector4(r1[1], r2[1], r3[1], r4[1]))
            (v0 + tx).store(y.0); (v1 + tx).store(y.1); (v2 + tx).store(y.2)
            (v3 + tx).store(y.3); (v4 + tx).store(y.4); (v5 + tx).store(y.5)
            tx &+= 4
        }
        while tx < tilesWide {
            let p = e + 4 &* tx
            let y = inputTransform(p[0], p[1], p[2], p[3], p[4], p[5])
            v0[tx] = y.0; v1[tx] = y.1; v2[tx] = y.2; v3[tx] = y.3; v4[tx] = y.4; v5[tx] = y.5
            tx &+= 1
        }
    }

    /// `Bᵀ x` for the six values `x0…x5` along one side of a 6×6 input patch; each lane is an independent
    /// column or tile. One formula for the vector steps and the scalar tails, so they cannot drift apart.
    @inline(__always)
    private static func inputTransform<L: WinogradLanes>(_ x0: L, _ x1: L, _ x2: L, _ x3: L, _ x4: L,
                                                         _ x5: L) -> (L, L, L, L, L, L) {
        (4 * x0 - 5 * x2 + x4, x3 + x4 - 4 * (x1 + x2), 4 * (x1 - x2) + x4 - x3,
         2 * (x3 - x1) + x4 - x2, 2 * (x1 - x3) + x4 - x2, 4 * x1 - 5 * x3 + x5)
    }

    /// `Aᵀ m` for the six values `m0…m5` along one side of a 6×6 product tile: its four outputs.
    @inline(__always)
    private static func outputTransform<L: WinogradLanes>(_ m0: L, _ m1: L, _ m2: L, _ m3: L, _ m4: L,
                                                          _ m5: L) -> (L, L, L, L) {
        let sum12 = m1 + m2, difference12 = m1 - m2, sum34 = m3 + m4, difference34 = m3 - m4
        return (m0 + sum12 + sum34, difference12 + 2 * difference34, sum12 + 4 * sum34,
                difference12 + 8 * difference34 + m5)
    }

    /// `Y = Aᵀ M A` per tile, a row of tiles at a time: `Aᵀ M` down the tile (contiguous over tiles), `· A`
    /// along it into four output rows, then the epilogue while copying the rows inside the image to the output.
    private func transformOutput(_ m: UnsafePointer<Float>, channels: Range<Int>, stride: Int, firstRow: Int,
                                 rowCount: Int, shape: FeatureShape, tilesHigh: Int, tilesWide: Int,
                                 bias: UnsafePointer<Float>?, activation: Activation,
                                 into output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let height = shape.height, width = shape.width, plane = shape.plane
        let xiStride = outChannels &* stride
        let a = scratch + (6 &* (4 &* tilesWide &+ 2) &+ 8 &+ width)   // (4, 6, tilesWide): (Aᵀ M)[q, j]
        let line = a + 24 &* tilesWide                                  // (4·tilesWide): one output row
        for co in channels {
            let channel = output + co &* shape.batch &* plane
            let b = bias?[co] ?? 0
            for r in 0..<rowCount {
                let g = firstRow &+ r
                let n = g / tilesHigh, ty = g &- n &* tilesHigh
                let source = m + (co &* stride &+ r &* tilesWide)
                for j in 0..<6 {
                    Self.columnsTimesA(source + j &* xiStride, step: 6 &* xiStride, tilesWide: tilesWide,
                                       into: a + j &* tilesWide, rowStride: 6 &* tilesWide)
                }
                let image = channel + n &* plane
                for q in 0..<4 {
                    let y = 4 &* ty &+ q
                    if y >= height { break }
                    Self.rowTimesA(a + (6 &* q) &* tilesWide, tilesWide: tilesWide, into: line)
                    Epilogue.apply(activation, from: line, to: image + y &* width, count: width, bias: b)
                }
            }
        }
    }

    /// `Aᵀ` down one column position `j` of the tile: `s_q[tx]` for q = 0…3 from `m_i = m + i·step`, i = 0…5.
    @inline(__always)
    private static func columnsTimesA(_ m: UnsafePointer<Float>, step: Int, tilesWide: Int,
                                      into s: UnsafeMutablePointer<Float>, rowStride: Int) {
        let m0 = m, m1 = m0 + step, m2 = m1 + step, m3 = m2 + step, m4 = m3 + step, m5 = m4 + step
        let s0 = s, s1 = s0 + rowStride, s2 = s1 + rowStride, s3 = s2 + rowStride
        var tx = 0
        while tx &+ 4 <= tilesWide {
            let o = outputTransform((m0 + tx).load4(), (m1 + tx).load4(), (m2 + tx).load4(),
                                    (m3 + tx).load4(), (m4 + tx).load4(), (m5 + tx).load4())
            (s0 + tx).store(o.0); (s1 + tx).store(o.1); (s2 + tx).store(o.2); (s3 + tx).store(o.3)
            tx &+= 4
        }
        while tx < tilesWide {
            let o = outputTransform(m0[tx], m1[tx], m2[tx], m3[tx], m4[tx], m5[tx])
            s0[tx] = o.0; s1[tx] = o.1; s2[tx] = o.2; s3[tx] = o.3
            tx &+= 1
        }
    }

    /// `· A` along one row: `out[4tx + p]` for p = 0…3 from the six rows `s_j = s + j·tilesWide`.
    @inline(__always)
    private static func rowTimesA(_ s: UnsafePointer<Float>, tilesWide: Int, into out: UnsafeMutablePointer<Float>) {
        let s0 = s, s1 = s0 + tilesWide, s2 = s1 + tilesWide, s3 = s2 + tilesWide, s4 = s3 + tilesWide
        let s5 = s4 + tilesWide
        var tx = 0
        while tx &+ 4 <= tilesWide {
            let o = outputTransform((s0 + tx).load4(), (s1 + tx).load4(), (s2 + tx).load4(),
                                    (s3 + tx).load4(), (s4 + tx).load4(), (s5 + tx).load4())
            (out + 4 &* tx).store(Vector16(o.0[0], o.1[0], o.2[0], o.3[0], o.0[1], o.1[1], o.2[1], o.3[1],
                                           o.0[2], o.1[2], o.2[2], o.3[2], o.0[3], o.1[3], o.2[3], o.3[3]))
            tx &+= 4
        }
        while tx < tilesWide {
            let o = outputTransform(s0[tx], s1[tx], s2[tx], s3[tx], s4[tx], s5[tx])
            let target = out + 4 &* tx
            target[0] = o.0; target[1] = o.1; target[2] = o.2; target[3] = o.3
            tx &+= 1
        }
    }
}

/// What the Winograd transforms compute with: a `Float`, or a vector of them (one lane per column or tile).
protocol WinogradLanes {
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Float, rhs: Self) -> Self
}

extension Float: WinogradLanes {}
extension SIMD4: WinogradLanes where Scalar == Float {}
extension SIMD8: WinogradLanes where Scalar == Float {}

