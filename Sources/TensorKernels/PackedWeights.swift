import CGEMMKernel
import Foundation

/// A layer's GEMM left operands — its weight matrices, `(C_out, K)` each — stored once, at model-load time, in
/// the layout the multiply reads: packed into 8-row panels for the AVX-512 kernel of `CGEMMKernel` where this
/// CPU has one, else row-major for OpenBLAS.
///
/// Why: OpenBLAS re-packs both operands on every call, and at batch 1 (N = 25 … 1 040 columns) that was about
/// 16 % of the forward pass. The packed kernel reads the weights as they lie and copies the activations in
/// cache-sized blocks, once per call; every output is summed over k in the same fixed order whatever the column count
/// or thread split, so an image's result does not depend on what shares its call.
///
/// With `precision: .bf16` (where ``GEMMCapabilities/bf16`` holds) the weights are rounded to bfloat16 and packed
/// for a bf16 kernel instead (``BF16Panels``: AMX's tiles where usable, else AVX512-BF16); the callers' float
/// offsets stay valid.
///
/// ```swift
/// let w = PackedWeights(rowMajor: weight, rows: 64, matrices: [(offset: 0, columns: 576)])
/// w.multiply(matrixAt: 0, columns: 576, n: cols, b: im2col, ldb: cols, c: out, ldc: plane, parts: 2)
/// ```
public struct PackedWeights: Sendable {
    /// Whether this process uses the packed AVX-512 kernel: the CPU has AVX-512F (checked once, at run time) and
    /// `HISTOAE_GEMM` is not `openblas` (that setting keeps every GEMM on OpenBLAS, for A/B benchmarks).
    public static let kernelAvailable = hae_gemm_available() == 1
        && ProcessInfo.processInfo.environment["HISTOAE_GEMM"] != "openblas"

    /// What runs the GEMMs, for `histoae bench` and the server's start-up log.
    public static var kernelDescription: String {
        kernelAvailable ? "packed AVX-512 kernel (CGEMMKernel)" : "OpenBLAS \(BLAS.configuration)"
    }

    /// Rows of one packed panel and columns of one micro-tile (the micro-kernel's height and width).
    static let panelRows = Int(HAE_GEMM_MR), tileColumns = Int(HAE_GEMM_NR)

    /// Rows of every matrix (`C_out`).
    public let rows: Int
    /// Whether the weights are packed for a `CGEMMKernel` kernel (else row-major, for OpenBLAS).
    public let isPacked: Bool
    /// What the multiply runs in: `.bf16` only where it was asked for and the bf16 kernel runs here.
    public let precision: Precision
    /// The matrices at their offsets, each `rows × columns` floats: packed `(rows/8, columns, 8)` if
    /// ``isPacked``, else row-major `(rows, columns)`; empty at bf16.
    let values: [Float]
    /// The bf16 matrices, at bf16 only.
    let bf16: BF16Panels?

    /// - Parameters:
    ///   - rowMajor: the matrices, each row-major `(rows, columns)` at its offset.
    ///   - matrices: where each matrix starts and how many columns (K) it has.
    ///   - packed: use the packed kernel; by default wherever the CPU has it and `rows` is a multiple of 8
    ///     (tests pass false to check the OpenBLAS path on the same machine).
    ///   - precision: `.bf16` packs bf16 weights for a bf16 kernel where one runs (with `packed`); anywhere else,
    ///     and by default, float32.
    public init(rowMajor: consuming [Float], rows: Int, matrices: [(offset: Int, columns: Int)],
                packed: Bool = PackedWeights.kernelAvailable, precision: Precision = .fp32) {
        self.init(rowMajor: rowMajor, rows: rows, matrices: matrices, packed: packed, precision: precision,
                  bf16Kernel: .current)
    }

    /// The same, with the bf16 kernel named (tests run AMX's layout and loops, emulated, on any CPU with AVX-512F).
    init(rowMajor: consuming [Float], rows: Int, matrices: [(offset: Int, columns: Int)], packed: Bool,
         precision: Precision, bf16Kernel: BF16Kernel) {
        self.rows = rows
        self.isPacked = packed && Self.kernelAvailable && rows % Self.panelRows == 0
        self.precision = isPacked && precision == .bf16
            && (GEMMCapabilities.current.bf16 || bf16Kernel == .amxEmulated) ? .bf16 : .fp32
        guard isPacked else {
            (values, bf16) = (rowMajor, nil)
            return
        }
        guard self.precision == .fp32 else {
            (values, bf16) = ([], BF16Panels(rowMajor: rowMajor, rows: rows, matrices: matrices, kernel: bf16Kernel))
            return
        }
        bf16 = nil
        // In place, one matrix at a time through a copy of it: the model's peak memory at load time grows by
        // one matrix, not by a second copy of the layer (fuse1's Winograd weights are 19 MB).
        var values = rowMajor
        var matrix = [Float]()
        values.withUnsafeMutableBufferPointer { target in
            for (offset, columns) in matrices {
                precondition(offset + rows * columns <= target.count)
                matrix.removeAll(keepingCapacity: true)
                matrix.append(contentsOf: target[offset..<(offset + rows * columns)])
                matrix.withUnsafeBufferPointer { source in
                    hae_gemm_pack(rows, columns, source.baseAddress!, columns, target.baseAddress! + offset)
                }
            }
        }
        self.values = values
    }

    /// Row-major `C (rows × n, ldc) = A (rows × columns) · B (columns × n, ldb)`, overwriting C, where A is the
    /// matrix at `offset`, as `parts` single-threaded calls side by side through ``Parallel`` (``split``).
    /// At bf16, A and B enter as bfloat16 and C is their float32 sum.
    public func multiply(matrixAt offset: Int, columns k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int, parts: Int = 1) {
        if let bf16 {
            bf16.multiply(matrixAt: offset, rows: rows, columns: k, n: n, b: b, ldb: ldb, c: c, ldc: ldc, parts: parts)
            return
        }
        values.withUnsafeBufferPointer { w in
            let a = w.baseAddress! + offset
            guard isPacked else {
                BLAS.sgemm(m: rows, n: n, k: k, a: a, lda: k, b: b, ldb: ldb, c: c, ldc: ldc, parts: parts)
                return
            }
            Self.split(rows: rows, n: n, parts: parts) { first, count, column, width in
                hae_gemm_multiply(count, width, k, a + first * k, b + column, ldb, c + first * ldc + column, ldc)
            }
        }
    }

    /// Whether ``multiplyPrepacked(matrixAt:columns:n:packedB:c:ldc:)`` runs: the weights are bf16 panels.
    var acceptsPrepackedBF16: Bool { bf16 != nil }

    /// `C (rows × n, ldc) = A · B` at bf16 for a B its producer packed for the bf16 kernel: `(⌈n/32⌉, panelPairs,
    /// 32, 2)` bf16 (`panelPairs` = ⌈columns/2⌉ for a B of its own, `hae_gemm_bf16_packed_b_count(n, columns)`
    /// values), as `parts` calls side by side. Only where ``acceptsPrepackedBF16``.
    func multiplyPrepacked(matrixAt offset: Int, columns k: Int, n: Int, packedB: UnsafePointer<UInt16>,
                           panelPairs: Int, c: UnsafeMutablePointer<Float>, ldc: Int, parts: Int = 1) {
        guard let bf16 else { fatalError("prepacked bf16 B for float32 weights") }
        bf16.multiplyPrepacked(matrixAt: offset, rows: rows, columns: k, n: n, packedB: packedB, panelPairs: panelPairs,
                               c: c, ldc: ldc, parts: parts)
    }

    /// Whether ``multiplyPrepacked(matrixAt:columns:n:packedB:panelDepth:c:ldc:parts:)`` runs: the weights are
    /// float32 panels for the packed kernel.
    var acceptsPrepackedF32: Bool { isPacked && bf16 == nil }

    /// `C (rows × n, ldc) = A · B` for a B its producer packed for the float32 kernel: `(⌈n/32⌉, panelDepth, 32)`
    /// floats, 64-byte aligned (`panelDepth` = columns for a B of its own, `hae_gemm_packed_b_count(n, columns)`
    /// floats), as `parts` calls side by side; the same bits as ``multiply(matrixAt:columns:n:b:ldb:c:ldc:parts:)``.
    /// Only where ``acceptsPrepackedF32``.
    func multiplyPrepacked(matrixAt offset: Int, columns k: Int, n: Int, packedB: UnsafePointer<Float>,
                           panelDepth: Int, c: UnsafeMutablePointer<Float>, ldc: Int, parts: Int = 1) {
        precondition(acceptsPrepackedF32, "prepacked float32 B for weights that are not float32 panels")
        values.withUnsafeBufferPointer { w in
            let a = w.baseAddress! + offset
            Self.split(rows: rows, n: n, parts: parts) { first, count, column, width in
                // Column splits fall on whole 32-column tiles (split), so the tile's panel starts there.
                hae_gemm_multiply_prepacked(count, width, k, a + first * k, packedB + column / 32 * panelDepth * 32,
                                            panelDepth, c + first * ldc + column, ldc)
            }
        }
    }

    /// Floats of scratch that hold `matrices` B operands (`k × n` each) packed for the float32 kernel
    /// (``multiplyPrepacked(matrixAt:columns:n:packedB:panelDepth:c:ldc:parts:)``) `stride` apart, plus room to
    /// align them (``packedB(in:)``); fatal if the count overflows (the shapes are the architecture's).
    static func scratchFloats(columns n: Int, depth k: Int, matrices: Int, stride: Int) -> Int {
        let count = hae_gemm_packed_b_count(n, k)
        let (all, overflow) = stride.multipliedReportingOverflow(by: matrices)
        guard count >= 0, stride >= count, !overflow else { fatalError("packed B: \(matrices) × (\(k) × \(n)) overflows") }
        return all + 16
    }

    /// Where packed float32 B operands start in a scratch buffer of ``scratchFloats(columns:depth:matrices:stride:)``:
    /// its first 64-byte boundary (the kernel's aligned loads).
    static func packedB(in buffer: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(buffer).alignedUp(toMultipleOf: 64).assumingMemoryBound(to: Float.self)
    }

    /// Runs a `rows × n` product as `parts` calls `kernel(firstRow, rowCount, firstColumn, columnCount)` side by
    /// side through ``Parallel`` (one inline call where a split does not pay).
    ///
    /// A split along the rows (whole 8-row panels) has every thread pack all of B; one along N (whole 32-column
    /// tiles) has every thread read all of A. The split goes along N when B is the larger (N ≥ rows), as
    /// OpenBLAS's does. Both kernels (fp32 and bf16) have 8-row panels and 32-column tiles.
    @inline(__always)
    static func split(rows: Int, n: Int, parts: Int, _ kernel: (Int, Int, Int, Int) -> Void) {
        let columnTiles = (n + tileColumns - 1) / tileColumns, panels = rows / panelRows
        if parts <= 1 || (columnTiles < 2 && panels < 2) {
            kernel(0, rows, 0, n)
        } else if n >= rows && columnTiles >= 2 || panels < 2 {
            Parallel.forEach(columnTiles, parts: parts) { _, tiles in
                let first = tiles.lowerBound * tileColumns, end = min(n, tiles.upperBound * tileColumns)
                kernel(0, rows, first, end - first)
            }
        } else {
            Parallel.forEach(panels, parts: parts) { _, range in
                kernel(range.lowerBound * panelRows, range.count * panelRows, 0, n)
            }
        }
    }
}
