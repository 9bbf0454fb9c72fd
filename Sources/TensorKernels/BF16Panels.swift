import CGEMMKernel
import Foundation

/// The kernels a bf16 GEMM can run on (`CGEMMKernel`): both read the same packed B panels; each wants the weights
/// in its own layout.
enum BF16Kernel: Sendable, Equatable {
    /// AVX512-BF16's VDPBF16PS (`hae_gemm_bf16.h`): weights `(rows/8, ⌈K/2⌉, 8, 2)`.
    case avx512BF16
    /// AMX's TDPBF16PS tiles (`hae_gemm_amx.h`): weights `(⌈K/32⌉, rows, 32)` plus 32 rows of padding.
    case amx
    /// ``amx``'s loops and layout with the tile instructions emulated in C: the tests' way to them on any CPU.
    case amxEmulated

    /// This process's: the tiles wherever `hae_gemm_amx_available` (the CPU has AMX-BF16 and Linux granted the tile
    /// state) unless `HISTOAE_GEMM=avx512-bf16` asks for VDPBF16PS; checked once.
    static let current: BF16Kernel = hae_gemm_amx_available() == 1
        && ProcessInfo.processInfo.environment["HISTOAE_GEMM"] != GEMMCapabilities.bf16KernelSetting ? .amx : .avx512BF16

    /// What runs the GEMMs, for `histoae bench`, `histoae machine` and the server's start-up log.
    var description: String {
        switch self {
        case .avx512BF16: "bf16 AVX512-BF16 kernel (CGEMMKernel), float32 sums"
        case .amx: "bf16 AMX kernel (CGEMMKernel, TDPBF16PS tiles), float32 sums"
        case .amxEmulated: "bf16 AMX kernel emulated in C (tests only), float32 sums"
        }
    }

    /// uint16 values of an `m × k` matrix in this kernel's layout; negative if the count overflows.
    func packedCount(rows m: Int, columns k: Int) -> Int {
        self == .avx512BF16 ? hae_gemm_bf16_packed_count(m, k) : hae_gemm_amx_packed_count(m, k)
    }
}

/// ``PackedWeights``' matrices rounded to bfloat16 and packed once, at load time, for a bf16 kernel of
/// `CGEMMKernel` (``BF16Kernel``: AVX512-BF16's `hae_gemm_bf16.h` or AMX's `hae_gemm_amx.h`): half the bytes of the
/// float32 panels, sums in float32.
///
/// A packed bf16 matrix's size is not its float count (an odd K gets a zero last depth; AMX pads K to 32 and adds 32
/// rows), so the matrices' packed offsets differ from their float offsets: the callers keep naming a matrix by its
/// float offset, and this maps it.
///
/// ```swift
/// let panels = BF16Panels(rowMajor: weight, rows: 64, matrices: [(offset: 0, columns: 27)])
/// panels.multiply(matrixAt: 0, rows: 64, columns: 27, n: cols, b: im2col, ldb: cols, c: out, ldc: plane, parts: 2)
/// ```
struct BF16Panels: Sendable {
    /// The kernel the matrices are packed for.
    let kernel: BF16Kernel
    /// Every matrix in ``kernel``'s layout, back to back in ascending float offset.
    let values: [UInt16]
    /// The matrices' float offsets (ascending), their K and where each starts in ``values``.
    let floatOffsets: [Int], columns: [Int], packedOffsets: [Int]

    /// - Parameters: as ``PackedWeights``' (`rows` a multiple of 8), and the kernel to pack for; fatal if a matrix
    ///   lies outside `rowMajor` or its size overflows (the shapes are the architecture's, never a file's).
    init(rowMajor: borrowing [Float], rows: Int, matrices: [(offset: Int, columns: Int)],
         kernel: BF16Kernel = .current) {
        // The row and column splits of PackedWeights.split are the fp32 kernel's; the bf16 kernel must share them.
        guard Int(HAE_GEMM_BF16_MR) == PackedWeights.panelRows, Int(HAE_GEMM_BF16_NR) == PackedWeights.tileColumns,
              rows % PackedWeights.panelRows == 0 else {
            fatalError("bf16 panels: \(rows) rows do not fit the kernel's \(HAE_GEMM_BF16_MR)-row panels")
        }
        let sorted = matrices.sorted { $0.offset < $1.offset }
        var floatOffsets: [Int] = [], columns: [Int] = [], packedOffsets: [Int] = []
        var total = 0
        for (offset, k) in sorted {
            let count = kernel.packedCount(rows: rows, columns: k)
            let (floats, floatsOverflow) = rows.multipliedReportingOverflow(by: k)
            let (end, endOverflow) = offset.addingReportingOverflow(floats)
            let (next, totalOverflow) = total.addingReportingOverflow(count)
            guard count >= 0, offset >= 0, !floatsOverflow, !endOverflow, !totalOverflow, end <= rowMajor.count,
                  floatOffsets.last.map({ $0 < offset }) ?? true else {
                fatalError("bf16 panels: matrix at \(offset) (\(rows) × \(k)) outside the \(rowMajor.count) weights")
            }
            floatOffsets.append(offset)
            columns.append(k)
            packedOffsets.append(total)
            total = next
        }
        values = rowMajor.withUnsafeBufferPointer { source in
            [UInt16](unsafeUninitializedCapacity: total) { target, initialized in
                for (index, offset) in floatOffsets.enumerated() {
                    let (from, to) = (source.baseAddress! + offset, target.baseAddress! + packedOffsets[index])
                    if kernel == .avx512BF16 {
                        hae_gemm_bf16_pack(rows, columns[index], from, columns[index], to)
                    } else {
                        hae_gemm_amx_pack(rows, columns[index], from, columns[index], to)
                    }
                }
                initialized = total
            }
        }
        self.kernel = kernel
        self.floatOffsets = floatOffsets
        self.columns = columns
        self.packedOffsets = packedOffsets
    }

    /// The index of the matrix at float offset `offset`; fatal for an offset no matrix starts at.
    func index(ofMatrixAt offset: Int, columns k: Int) -> Int {
        var low = 0, high = floatOffsets.count
        while low < high {
            let middle = (low + high) / 2
            if floatOffsets[middle] < offset { low = middle + 1 } else { high = middle }
        }
        guard low < floatOffsets.count, floatOffsets[low] == offset, columns[low] == k else {
            fatalError("bf16 panels: no \(k)-column matrix at float offset \(offset)")
        }
        return low
    }

    /// ``PackedWeights/multiply(matrixAt:columns:n:b:ldb:c:ldc:parts:)`` at bf16, split the same way; a row split
    /// starts its A at whole panels: `firstRow · (K + K mod 2)` values in (AMX: the kernel is told the first row).
    func multiply(matrixAt offset: Int, rows: Int, columns k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int,
                  c: UnsafeMutablePointer<Float>, ldc: Int, parts: Int) {
        let index = index(ofMatrixAt: offset, columns: k)
        let evenK = k + (k & 1)
        values.withUnsafeBufferPointer { w in
            let a = w.baseAddress! + packedOffsets[index]
            PackedWeights.split(rows: rows, n: n, parts: parts) { first, count, column, width in
                let (b, c) = (b + column, c + first * ldc + column)
                switch kernel {
                case .avx512BF16: hae_gemm_bf16_multiply(count, width, k, a + first * evenK, b, ldb, c, ldc)
                case .amx: hae_gemm_amx_multiply(count, width, k, a, rows, first, b, ldb, c, ldc)
                case .amxEmulated: hae_gemm_amx_multiply_emulated(count, width, k, a, rows, first, b, ldb, c, ldc)
                }
            }
        }
    }

    /// Floats of scratch that hold `matrices` B operands (`k × n` each) packed for
    /// ``multiplyPrepacked(matrixAt:rows:columns:n:packedB:panelPairs:c:ldc:parts:)``, back to back, plus room to
    /// align them (``packedB(in:)``); fatal if the count overflows (the shapes are the architecture's).
    static func scratchFloats(columns n: Int, depth k: Int, matrices: Int = 1) -> Int {
        let count = hae_gemm_bf16_packed_b_count(n, k)
        let (all, overflow) = count.multipliedReportingOverflow(by: matrices)
        guard count >= 0, !overflow else { fatalError("bf16 panels: \(matrices) × (\(k) × \(n)) overflows") }
        return (all + 1) / 2 + 16
    }

    /// Where packed B operands start in a scratch buffer of ``scratchFloats(columns:depth:matrices:)``: its first
    /// 64-byte boundary (the kernel's aligned loads).
    static func packedB(in buffer: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<UInt16> {
        UnsafeMutableRawPointer(buffer).alignedUp(toMultipleOf: 64).assumingMemoryBound(to: UInt16.self)
    }

    /// `C (rows × n, ldc) = A · B` with B already packed for the kernel (``hae_gemm_bf16_multiply_prepacked``:
    /// `(⌈n/32⌉, panelPairs, 32, 2)` bf16, the first ⌈K/2⌉ pairs of each tile's panel read), split as
    /// ``multiply(matrixAt:rows:columns:n:b:ldb:c:ldc:parts:)`` is: what the Winograd input transforms (of the
    /// fuse and of the transposed convolutions) write directly.
    func multiplyPrepacked(matrixAt offset: Int, rows: Int, columns k: Int, n: Int, packedB: UnsafePointer<UInt16>,
                           panelPairs: Int, c: UnsafeMutablePointer<Float>, ldc: Int, parts: Int) {
        let index = index(ofMatrixAt: offset, columns: k)
        let evenK = k + (k & 1)
        values.withUnsafeBufferPointer { w in
            let a = w.baseAddress! + packedOffsets[index]
            PackedWeights.split(rows: rows, n: n, parts: parts) { first, count, column, width in
                // Column splits fall on whole 32-column tiles (PackedWeights.split), so the tile's panel starts there.
                let (b, c) = (packedB + column / 32 * panelPairs * 64, c + first * ldc + column)
                switch kernel {
                case .avx512BF16: hae_gemm_bf16_multiply_prepacked(count, width, k, a + first * evenK, b, panelPairs, c, ldc)
                case .amx: hae_gemm_amx_multiply_prepacked(count, width, k, a, rows, first, b, panelPairs, c, ldc)
                case .amxEmulated:
                    hae_gemm_amx_multiply_prepacked_emulated(count, width, k, a, rows, first, b, panelPairs, c, ldc)
                }
            }
        }
    }
}
