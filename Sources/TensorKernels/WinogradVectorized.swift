import CGEMMKernel

extension WinogradConv3x3 {
    /// Tiles (GEMM columns) a chunk gets at least, where the batch has them (and ``ScratchBuffer/minimumColumns``
    /// allows: tests lower it to force one tile row a chunk).
    static let minimumColumns = 192

    /// ``forward(input:shape:output:bias:activation:scratch:)`` with the AVX-512 transforms of `hae_winograd.h`:
    /// the same chunks of tile rows, the same 36 GEMMs. At bf16 (an even C_in) the input transform writes V as the
    /// bf16 kernel's packed B panels, `(36, ⌈chunk/32⌉, C_in/2, 32, 2)`, which the GEMMs read as they lie — no
    /// float V, no conversion pass.
    ///
    /// ```swift
    /// let conv = WinogradConv3x3(weight: w, inChannels: 128, outChannels: 64, precision: .bf16)
    /// conv.forward(input: x, shape: shape, output: y, bias: b, activation: .gelu, scratch: &scratch)  // runs this
    /// ```
    func forwardVectorized(input: UnsafePointer<Float>, shape: FeatureShape, output: UnsafeMutablePointer<Float>,
                           bias: UnsafePointer<Float>?, activation: Activation, scratch: inout ScratchBuffer) {
        let tilesHigh = (shape.height + 3) / 4, tilesWide = (shape.width + 3) / 4
        let tileRows = shape.batch * tilesHigh                // global tile row g = n·tilesHigh + ty
        let byCache = scratch.chunkLimit * 4 / (36 * (inChannels + outChannels) * tilesWide)
        // At least ~200 tiles a chunk where the batch has them: a narrower GEMM (fuse1's 5-tile rows gave 55 columns)
        // spends its time on the ragged last 32-column tile and on loading A.
        let minimumTiles = min(Self.minimumColumns, scratch.minimumColumns)
        let minimumRows = (minimumTiles + tilesWide - 1) / tilesWide
        let rowsPerChunk = min(tileRows, max(1, byCache, minimumRows))
        let chunk = rowsPerChunk * tilesWide                  // tiles per chunk
        var geometry = hae_winograd_geometry(channels: inChannels, batch: shape.batch, height: shape.height,
                                             width: shape.width, tiles_high: tilesHigh, tiles_wide: tilesWide,
                                             first_row: 0, row_count: rowsPerChunk)
        let rowScratch = hae_winograd_scratch_count(&geometry)
        let prepacked = transformedWeight.acceptsPrepackedBF16 && inChannels % 2 == 0
        // V: (36, C_in, chunk) float, or 36 packed bf16 B panels of the largest chunk.
        let vFloats = prepacked ? BF16Panels.scratchFloats(columns: chunk, depth: inChannels, matrices: 36)
                                : 36 * inChannels * chunk
        let threads = scratch.threads
        let buffer = scratch.reserve(vFloats + 36 * outChannels * chunk + rowScratch * threads)
        let v = buffer                                        // (36, C_in, chunk) float
        let packed = BF16Panels.packedB(in: buffer)
        let m = buffer + vFloats                              // (36, C_out, chunk)
        let rows = m + 36 * outChannels * chunk               // per-thread transform scratch
        let code = activation.epilogueCode
        var firstRow = 0
        while firstRow < tileRows {
            let rowCount = min(rowsPerChunk, tileRows - firstRow)
            let count = rowCount * tilesWide
            geometry.first_row = firstRow
            geometry.row_count = rowCount
            geometry.channels = inChannels
            let inputGeometry = geometry
            if prepacked {
                let xiStride = hae_gemm_bf16_packed_b_count(count, inChannels)
                Parallel.forEach(inChannels / 2, parts: threads) { part, pairs in
                    withUnsafePointer(to: inputGeometry) { g in
                        hae_winograd_input_bf16(input, pairs.lowerBound, pairs.count, g, packed,
                                                rows + part * rowScratch)
                    }
                }
                Parallel.forEach(36, parts: threads) { _, positions in
                    for xi in positions {
                        transformedWeight.multiplyPrepacked(matrixAt: xi * outChannels * inChannels,
                                                            columns: inChannels, n: count,
                                                            packedB: packed + xi * xiStride,
                                                            panelPairs: inChannels / 2,
                                                            c: m + xi * outChannels * chunk, ldc: chunk)
                    }
                }
            } else {
                Parallel.forEach(inChannels, parts: threads) { part, channels in
                    withUnsafePointer(to: inputGeometry) { g in
                        hae_winograd_input_f32(input, channels.lowerBound, channels.count, g, v, chunk,
                                               rows + part * rowScratch)
                    }
                }
                Parallel.forEach(36, parts: threads) { _, positions in
                    for xi in positions {
                        transformedWeight.multiply(matrixAt: xi * outChannels * inChannels, columns: inChannels,
                                                   n: count, b: v + xi * inChannels * chunk, ldb: chunk,
                                                   c: m + xi * outChannels * chunk, ldc: chunk)
                    }
                }
            }
            geometry.channels = outChannels
            let outputGeometry = geometry
            Parallel.forEach(outChannels, parts: threads) { part, channels in
                withUnsafePointer(to: outputGeometry) { g in
                    hae_winograd_output(m, channels.lowerBound, channels.count, chunk, g, bias, code, output,
                                        rows + part * rowScratch)
                }
            }
            firstRow += rowCount
        }
    }
}
