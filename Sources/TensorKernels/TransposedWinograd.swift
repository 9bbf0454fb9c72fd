import CGEMMKernel

/// ConvTranspose2d with k 3, stride 2, padding 1, output_padding 1 (docs/model.md §5; the decoder's `up1…up4`,
/// §11) as 25 GEMMs of depth C_in per 2 × 2 block of input pixels — the sub-pixel form's 36 taps per block cut by
/// Winograd's F(2, 2) on the odd outputs of each axis (`hae_transposed_winograd.h` derives it).
///
/// Along one axis, with `w_u` the tap `u` and inputs `x0, x1` (the block) and `x2` (the next pixel, 0 past the
/// edge), the products `P0 = w1·x0`, `P1 = w1·x1`, `P2 = w2·(x0 − x1)`, `P3 = (w2 + w0)·x1`, `P4 = w0·(x2 − x1)` give
/// the four outputs `P0, P2 + P3, P1, P3 + P4`. In 2-D product `k = 5i + j` multiplies
/// `G_k[co, ci] = Σ_{u ∈ U(i), v ∈ U(j)} W[ci, co, u, v]` (`U = {1}, {1}, {2}, {2, 0}, {0}`, summed in Double at
/// load) by transformed input `4·r(i) + r(j)` (`r = 0, 1, 2, 1, 3`: `x0, x1, x0 − x1, x2 − x1`), so 16 transformed
/// inputs feed the 25 GEMMs.
///
/// It replaced the sub-pixel form (four parity GEMMs over shifted copies of the input, 36 products per block).
/// `histoae bench --batch 1 --workers 1 --layers --detail reconstruction --input pixels`, one Zen 4 core, fastest
/// pass, the two forms alternating in one build: `up1…up4` 4.69 → 3.91 ms per image at bf16, 9.3 → 7.8 ms at fp32.
///
/// ```swift
/// let up = TransposedWinograd(weight: w, inChannels: 64, outChannels: 32, precision: .bf16)
/// up.forward(input: x, shape: s, bias: b, output: y, scratch: &scratch)    // y: (32, N, 2H, 2W)
/// ```
public struct TransposedWinograd: Sendable {
    public let inChannels: Int, outChannels: Int
    /// The 25 matrices `G_k (C_out, C_in)` at float offsets `k·C_out·C_in`, packed for the GEMMs.
    let weights: PackedWeights
    /// The input transform writes the GEMMs' packed B panels (`hae_transposed_winograd.h`): bf16 ones at bf16 with
    /// an even C_in, float32 ones on the float32 packed kernel; false keeps row-major float32 transformed inputs
    /// that the GEMM packs (and at bf16 rounds) itself (tests compare the two: the same bits).
    let transformsPacked: Bool

    /// Tiles (GEMM columns) a chunk of tile rows holds at least: two of the kernel's 32-column tiles, so the GEMMs run
    /// at speed, while the chunk's transformed inputs and products (16·C_in + 25·C_out floats a tile: 584 KB for
    /// `up4`'s 80-tile chunks, and as much for `up2`, `up3`) stay in L2 between the transforms and the GEMMs. Chunks of
    /// at least 1 024 columns (the im2col rule) put several MB in flight: `histoae bench --batch 1 --workers 1
    /// --layers --detail reconstruction --input pixels`, fastest pass, 3 runs on one Xeon core: `up4` 2.41 → 1.73 ms,
    /// `up3` 1.57 → 1.45 (32 tiles: 2.0 and 1.7; 128: 1.7 and 1.55); `up2`'s 100 tiles ran best whole.
    static let chunkTiles = 64

    /// The sets U(i) of kernel taps product axis index i sums.
    static let taps: [[Int]] = [[1], [1], [2], [2, 0], [0]]

    /// - Parameter weight: PyTorch's `(C_in, C_out, 3, 3)`.
    /// - Parameter precision: what the 25 GEMMs run in (``PackedWeights``).
    public init(weight: [Float], inChannels: Int, outChannels: Int, precision: Precision = .fp32,
                transformsPacked: Bool = true) {
        precondition(weight.count == inChannels * outChannels * 9)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.transformsPacked = transformsPacked
        let size = outChannels * inChannels
        var g = [Float](repeating: 0, count: 25 * size)
        for k in 0..<25 {
            for co in 0..<outChannels {
                for ci in 0..<inChannels {
                    var sum = 0.0
                    for u in Self.taps[k / 5] {
                        for v in Self.taps[k % 5] { sum += Double(weight[((ci * outChannels + co) * 3 + u) * 3 + v]) }
                    }
                    g[k * size + co * inChannels + ci] = Float(sum)
                }
            }
        }
        weights = PackedWeights(rowMajor: consume g, rows: outChannels,
                                matrices: (0..<25).map { (offset: $0 * size, columns: inChannels) }, precision: precision)
    }

    /// Floats from one row of a chunk's matrices to the next for `columns` tiles: whole vectors plus 32, so the 16
    /// and 25 rows the transforms stream through at once do not share L1 sets (a multiple of 4 KB apart, they did:
    /// the output transform ran 2× slower).
    @inline(__always) static func rowStride(_ columns: Int) -> Int { (columns + 15) / 16 * 16 + 32 }

    /// - Parameters:
    ///   - input: `(C_in, N, H, W)`.
    ///   - bias: `(C_out)`.
    ///   - output: `(C_out, N, 2H, 2W)`, fully overwritten (it may be the front of a concat buffer).
    ///   - scratch: per chunk of tile rows, the 16 transformed inputs `(16, C_in, tiles)` (or their bf16 panels) and
    ///     the products `(C_out, 25, tiles)`.
    public func forward(input: UnsafePointer<Float>, shape: FeatureShape, bias: UnsafePointer<Float>,
                        output: UnsafeMutablePointer<Float>, scratch: inout ScratchBuffer) {
        precondition(shape.channels == inChannels)
        let tilesHigh = (shape.height + 1) / 2, tilesWide = (shape.width + 1) / 2
        let totalRows = shape.batch * tilesHigh                  // global tile row g = n·⌈H/2⌉ + a
        let prepacked = transformsPacked && weights.acceptsPrepackedBF16 && inChannels % 2 == 0
        let prepackedF32 = transformsPacked && weights.acceptsPrepackedF32
        // Chunks of whole tile rows of at least ``chunkTiles`` tiles (fewer only where tests lower
        // ``ScratchBuffer/minimumColumns``), whose transformed inputs and products stay in L2. On several threads a map
        // of at least two such chunks per thread (`up3`, `up4`) is split by tile rows, each thread running its own
        // chunks alone: sharing each chunk's 25 GEMMs between the threads would hand off 25 times a chunk. A smaller
        // map runs in one chunk (on several threads the GEMMs split by rows of weights: a thread of its own would
        // stream all of them again), as does a map under two chunks on one thread (`up1`, `up2`).
        let threads = scratch.threads
        let minimumTiles = min(Self.chunkTiles, scratch.minimumColumns)
        let splitsRows = threads > 1 && totalRows * tilesWide >= 2 * threads * minimumTiles
        let rowsPerChunk = totalRows * tilesWide < 2 * minimumTiles || (threads > 1 && !splitsRows) ? totalRows
            : min(totalRows, max(1, (minimumTiles + tilesWide - 1) / tilesWide))
        let capacity = rowsPerChunk * tilesWide
        let ld = Self.rowStride(capacity)
        // Packed: each transformed input's panels, 128 bytes apart beyond their size for the same reason.
        let panelStride = hae_gemm_bf16_packed_b_count(capacity, inChannels) + 64               // uint16
        let panelStrideF32 = hae_gemm_packed_b_count(capacity, inChannels) + 32                 // float
        let transformedFloats = prepacked ? BF16Panels.scratchFloats(columns: capacity, depth: inChannels, matrices: 16) + 16 * 32
            : prepackedF32 ? PackedWeights.scratchFloats(columns: capacity, depth: inChannels, matrices: 16, stride: panelStrideF32)
            : 16 * inChannels * ld
        // One region per thread that runs chunks of its own: the transformed inputs, then the products.
        let regionFloats = (transformedFloats + 25 * outChannels * ld + 15) / 16 * 16
        let regions = scratch.reserve((splitsRows ? threads : 1) * regionFloats)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 25) { offsets in
            for k in 0..<25 { offsets[k] = k * ld }
            /// Tile rows `tileRows` in chunks of at most `rowsPerChunk`, in `buffer`'s region, each step split `parts` ways.
            func runChunks(_ tileRows: Range<Int>, buffer: UnsafeMutablePointer<Float>, parts: Int) {
                let transformed = buffer                                  // (16, C_in, ld) float
                let packed = BF16Panels.packedB(in: buffer)               // 16 × (⌈tiles/32⌉, C_in/2, 32, 2) bf16
                let packedF32 = PackedWeights.packedB(in: buffer)         // 16 × (⌈tiles/32⌉, C_in, 32) float
                let products = buffer + transformedFloats                 // (C_out, 25, ld)
                var firstRow = tileRows.lowerBound
                while firstRow < tileRows.upperBound {
                    let rows = min(rowsPerChunk, tileRows.upperBound - firstRow)
                    let n = rows * tilesWide
                    let geometry = hae_transposed_winograd_geometry(batch: shape.batch, height: shape.height,
                                                                    width: shape.width, first_row: firstRow, row_count: rows)
                    withUnsafePointer(to: geometry) { geometry in
                        if prepacked {
                            Parallel.forEach(inChannels / 2, parts: parts) { _, pairs in
                                hae_transposed_winograd_input_bf16(input, inChannels, pairs.lowerBound, pairs.count,
                                                                   geometry, packed, panelStride)
                            }
                        } else if prepackedF32 {
                            Parallel.forEach(inChannels, parts: parts) { _, channels in
                                hae_transposed_winograd_input_f32_packed(input, inChannels, channels.lowerBound,
                                                                         channels.count, geometry, packedF32, panelStrideF32)
                            }
                        } else {
                            Parallel.forEach(inChannels, parts: parts) { _, channels in
                                hae_transposed_winograd_input_f32(input, inChannels, channels.lowerBound, channels.count,
                                                                  geometry, transformed, ld)
                            }
                        }
                        for k in 0..<25 {
                            // (C_out, C_in) · (C_in, tiles) → rows (co, k) of the products, 25·ld apart.
                            let combination = Int(hae_transposed_winograd_combination(Int32(k)))
                            if prepacked {
                                weights.multiplyPrepacked(matrixAt: k * outChannels * inChannels, columns: inChannels,
                                                          n: n, packedB: packed + combination * panelStride,
                                                          panelPairs: inChannels / 2, c: products + k * ld, ldc: 25 * ld,
                                                          parts: parts)
                            } else if prepackedF32 {
                                weights.multiplyPrepacked(matrixAt: k * outChannels * inChannels, columns: inChannels,
                                                          n: n, packedB: packedF32 + combination * panelStrideF32,
                                                          panelDepth: inChannels, c: products + k * ld, ldc: 25 * ld,
                                                          parts: parts)
                            } else {
                                weights.multiply(matrixAt: k * outChannels * inChannels, columns: inChannels, n: n,
                                                 b: transformed + combination * inChannels * ld, ldb: ld,
                                                 c: products + k * ld, ldc: 25 * ld, parts: parts)
                            }
                        }
                        Parallel.forEach(outChannels, parts: parts) { _, channels in
                            hae_transposed_winograd_output(products, offsets.baseAddress!, 25 * ld, outChannels,
                                                           channels.lowerBound, channels.count, bias, geometry, output)
                        }
                    }
                    firstRow += rows
                }
            }
            if splitsRows {
                Parallel.forEach(totalRows, parts: threads) { part, tileRows in
                    runChunks(tileRows, buffer: regions + part * regionFloats, parts: 1)
                }
            } else {
                runChunks(0..<totalRows, buffer: regions, parts: threads)
            }
        }
    }
}
