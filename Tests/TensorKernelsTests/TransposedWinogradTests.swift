import CGEMMKernel
import Testing
@testable import TensorKernels

/// The Winograd ConvTranspose2d (k 3, s 2, p 1, op 1; docs/model.md §5) against the general GEMM + col2im form, and
/// its C transforms' AVX-512 and plain versions against each other.
@Suite("Winograd ConvTranspose2d")
struct TransposedWinogradTests {
    /// The decoder's shapes (10→20, 20→40, 40→80, 80→160, scaled down in channels) plus odd, tiny and wide ones.
    static let shapes = [(10, 10, 2, 24, 16), (20, 20, 1, 16, 8), (7, 9, 3, 5, 8), (1, 1, 1, 3, 8), (2, 5, 2, 4, 32),
                         (19, 19, 2, 32, 32), (3, 40, 1, 6, 8)]

    /// Random input, weights and bias for one shape.
    static func operands(height: Int, width: Int, batch: Int, inChannels: Int, outChannels: Int)
        -> (shape: FeatureShape, x: [Float], w: [Float], bias: [Float]) {
        var rng = SplitMix64(seed: UInt64(height * 1000 + width * 10 + batch + 7 * inChannels))
        let shape = FeatureShape(channels: inChannels, batch: batch, height: height, width: width)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(inChannels * outChannels * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.3 }
        let bias = (0..<outChannels).map { _ in rng.nextUniform() - 0.5 }
        return (shape, x, w, bias)
    }

    /// `up`'s output for `x`, with chunks as `chunkLimit`/`minimumColumns` make them, on `threads` threads.
    static func run(_ up: TransposedWinograd, _ x: [Float], _ shape: FeatureShape, _ bias: [Float],
                    chunkLimit: Int = 16 << 20, minimumColumns: Int = 1024, threads: Int = 1) -> [Float] {
        var out = [Float](repeating: .nan, count: up.outChannels * shape.batch * 4 * shape.plane)
        var scratch = ScratchBuffer(chunkLimit: chunkLimit)
        scratch.minimumColumns = minimumColumns
        scratch.threads = threads
        x.withUnsafeBufferPointer { xs in
            bias.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer {
                    up.forward(input: xs.baseAddress!, shape: shape, bias: b.baseAddress!, output: $0.baseAddress!,
                               scratch: &scratch)
                }
            }
        }
        return out
    }

    /// Whole batch in one chunk, one tile row per chunk; on one thread and split across two.
    static let chunkings = [(16 << 20, 1024, 1), (1, 1, 1), (16 << 20, 1024, 2), (1, 1, 2)]

    @Test("equals GEMM + col2im", arguments: shapes)
    func matchesCol2im(height: Int, width: Int, batch: Int, inChannels: Int, outChannels: Int) {
        let (shape, x, w, bias) = Self.operands(height: height, width: width, batch: batch, inChannels: inChannels,
                                                outChannels: outChannels)
        let layer = ConvTranspose2d(weight: w, bias: bias, inChannels: inChannels, outChannels: outChannels,
                                    kernel: 3, stride: 2, padding: 1, outputPadding: 1)
        guard case .winograd(let up) = layer.form else {
            Issue.record("the doubling configuration did not pick the Winograd form")
            return
        }
        let reference = ConvTranspose2d(weight: w, bias: bias, inChannels: inChannels, outChannels: outChannels,
                                        kernel: 3, stride: 2, padding: 1, outputPadding: 1, method: .col2im)
        let out = layer.outputShape(for: shape)
        #expect(out.height == 2 * height && out.width == 2 * width)
        var want = [Float](repeating: .nan, count: out.count)
        var scratch = ScratchBuffer()
        x.withUnsafeBufferPointer { xs in
            want.withUnsafeMutableBufferPointer {
                reference.forward(input: xs.baseAddress!, shape: shape, output: $0.baseAddress!, scratch: &scratch)
            }
        }
        for (chunkLimit, minimumColumns, threads) in Self.chunkings {
            let got = Self.run(up, x, shape, bias, chunkLimit: chunkLimit, minimumColumns: minimumColumns, threads: threads)
            var worst: Float = 0
            for i in got.indices { worst = max(worst, abs(got[i] - want[i])) }
            #expect(!got.contains { $0.isNaN }, "every output written")
            #expect(worst <= 1e-5, "max abs difference \(worst) (chunk limit \(chunkLimit), \(threads) thread(s))")
        }
    }

    @Test("bf16: transforming straight into packed panels gives the bits of rounding float32 transforms",
          .enabled(if: GEMMCapabilities.current.bf16,
                   "this CPU has no AVX512-BF16 (or HISTOAE_GEMM=openblas): the bf16 kernel cannot run here"),
          arguments: shapes)
    func packedTransformBF16(height: Int, width: Int, batch: Int, inChannels: Int, outChannels: Int) {
        let (shape, x, w, bias) = Self.operands(height: height, width: width, batch: batch, inChannels: inChannels,
                                                outChannels: outChannels)
        let direct = TransposedWinograd(weight: w, inChannels: inChannels, outChannels: outChannels, precision: .bf16)
        let floats = TransposedWinograd(weight: w, inChannels: inChannels, outChannels: outChannels, precision: .bf16,
                                        transformsPacked: false)
        let fp32 = TransposedWinograd(weight: w, inChannels: inChannels, outChannels: outChannels)
        let want = Self.run(floats, x, shape, bias)
        let exact = Self.run(fp32, x, shape, bias)
        var drift: Float = 0
        for i in want.indices { drift = max(drift, abs(want[i] - exact[i])) }
        #expect(drift > 0 && drift < 0.05, "bf16 against fp32: \(drift)")
        guard inChannels % 2 == 0 else { return }             // odd C_in: the float path is the only one
        for (chunkLimit, minimumColumns, threads) in Self.chunkings {
            let got = Self.run(direct, x, shape, bias, chunkLimit: chunkLimit, minimumColumns: minimumColumns,
                               threads: threads)
            #expect(got == want, "chunk limit \(chunkLimit), \(threads) thread(s)")
        }
    }

    @Test("fp32: transforming straight into packed panels gives the bits of the GEMM packing row-major transforms",
          .enabled(if: PackedWeights.kernelAvailable, "no AVX-512F (or HISTOAE_GEMM=openblas): the packed kernel cannot run here"),
          arguments: shapes + [(5, 5, 1, 264, 8)])               // C_in past one 256-deep block of the kernel
    func packedTransformF32(height: Int, width: Int, batch: Int, inChannels: Int, outChannels: Int) {
        let (shape, x, w, bias) = Self.operands(height: height, width: width, batch: batch, inChannels: inChannels,
                                                outChannels: outChannels)
        let direct = TransposedWinograd(weight: w, inChannels: inChannels, outChannels: outChannels)
        let rowMajor = TransposedWinograd(weight: w, inChannels: inChannels, outChannels: outChannels,
                                          transformsPacked: false)
        let want = Self.run(rowMajor, x, shape, bias)
        for (chunkLimit, minimumColumns, threads) in Self.chunkings {
            let got = Self.run(direct, x, shape, bias, chunkLimit: chunkLimit, minimumColumns: minimumColumns,
                               threads: threads)
            #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "chunk limit \(chunkLimit), \(threads) thread(s)")
        }
    }

    /// The dispatching transforms (AVX-512 where the CPU has it) against the plain C ones: the same bits. On a CPU
    /// without AVX-512 both calls run the plain loops and the test shows only that they are deterministic.
    @Test("C transforms: AVX-512 and plain C give the same bits", arguments: shapes)
    func transformsAgree(height: Int, width: Int, batch: Int, inChannels: Int, outChannels: Int) {
        let (shape, x, _, bias) = Self.operands(height: height, width: width, batch: batch, inChannels: inChannels,
                                                outChannels: outChannels)
        let tilesHigh = (height + 1) / 2, tilesWide = (width + 1) / 2
        // The chunk: every tile row but the first (a chunk that starts mid-batch).
        let firstRow = min(1, batch * tilesHigh - 1), rows = batch * tilesHigh - firstRow, count = rows * tilesWide
        var geometry = hae_transposed_winograd_geometry(batch: batch, height: height, width: width,
                                                        first_row: firstRow, row_count: rows)
        let ld = count + 3
        var fast = [Float](repeating: .nan, count: 16 * inChannels * ld), plain = fast
        hae_transposed_winograd_input_f32(x, inChannels, 0, inChannels, &geometry, &fast, ld)
        hae_transposed_winograd_input_f32_plain(x, inChannels, 0, inChannels, &geometry, &plain, ld)
        #expect(fast.map(\.bitPattern) == plain.map(\.bitPattern))
        // Products: any values, laid out (C_out, 25, ld) as TransposedWinograd lays them.
        var rng = SplitMix64(seed: 99)
        let products = (0..<(outChannels * 25 * ld)).map { _ in rng.nextUniform() * 2 - 1 }
        let offsets = (0..<25).map { $0 * ld }
        let outCount = outChannels * batch * 4 * shape.plane
        var fastOut = [Float](repeating: .nan, count: outCount), plainOut = fastOut
        hae_transposed_winograd_output(products, offsets, 25 * ld, outChannels, 0, outChannels, bias, &geometry, &fastOut)
        hae_transposed_winograd_output_plain(products, offsets, 25 * ld, outChannels, 0, outChannels, bias, &geometry,
                                             &plainOut)
        #expect(fastOut.map(\.bitPattern) == plainOut.map(\.bitPattern))
        // The chunk's outputs are all written (rows of the first tile row are not: they are the NaNs left).
        let written = plainOut.filter { !$0.isNaN }.count
        #expect(written == outChannels * (batch * 4 * shape.plane - min(4, 2 * height) * 2 * width * (firstRow > 0 ? 1 : 0)))
    }
}
