import Foundation
import Testing
import TensorKernels

/// ``PackedWeights``: the AVX-512 kernel over weights packed at load time, and its OpenBLAS fallback.
@Suite("GEMM over packed weights")
struct PackedWeightsTests {
    /// Runs `multiply` on a fresh C (`m × ldc`, filled with −7) and returns it.
    static func product(_ weights: PackedWeights, offset: Int, k: Int, n: Int, b: [Float], ldb: Int, ldc: Int,
                        parts: Int) -> [Float] {
        var c = [Float](repeating: -7, count: weights.rows * ldc)
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                weights.multiply(matrixAt: offset, columns: k, n: n, b: b.baseAddress!, ldb: ldb, c: c.baseAddress!,
                                 ldc: ldc, parts: parts)
            }
        }
        return c
    }

    /// Whether this machine should use the packed kernel: AVX-512F in /proc/cpuinfo, no `HISTOAE_GEMM=openblas`.
    static let expectsKernel = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains(" avx512f ")
        && ProcessInfo.processInfo.environment["HISTOAE_GEMM"] != "openblas"

    /// The kernel is what runs on an AVX-512 machine (CI's included), so the tests below exercise it there.
    @Test("the packed kernel is chosen wherever the CPU has AVX-512F", .enabled(if: expectsKernel))
    func chosenOnAVX512() {
        #expect(PackedWeights.kernelAvailable)
        #expect(PackedWeights(rowMajor: [Float](repeating: 1, count: 16 * 3), rows: 16,
                              matrices: [(offset: 0, columns: 3)]).isPacked)
        #expect(!PackedWeights(rowMajor: [Float](repeating: 1, count: 12 * 3), rows: 12,
                               matrices: [(offset: 0, columns: 3)]).isPacked, "rows not a multiple of 8")
    }

    /// N around the 16- and 32-column tiles and K around the 256-deep blocks; the second of two matrices (so the
    /// offset is honoured); C inside a wider matrix whose other columns must stay untouched; 1–3 threads.
    @Test("equals the product for every shape, split and layout",
          arguments: [(8, 1, 1), (8, 17, 3), (16, 31, 27), (24, 32, 256), (64, 33, 257), (32, 100, 600), (256, 25, 512),
                      (40, 5, 70), (12, 45, 9)])
    func matchesProduct(m: Int, n: Int, k: Int) {
        var rng = SplitMix64(seed: UInt64(m * 1000 + n * 10 + k))
        let ldb = n + 5, ldc = n + 7
        let a = (0..<(2 * m * k)).map { _ in rng.nextUniform() * 2 - 1 }
        let b = (0..<(k * ldb)).map { _ in rng.nextUniform() * 2 - 1 }
        let want = ParallelGEMMTests.reference(m: m, n: n, k: k, a: Array(a[(m * k)...]), lda: k, b: b, ldb: ldb)
        let matrices = [(offset: 0, columns: k), (offset: m * k, columns: k)]
        for packed in [true, false] {
            let weights = PackedWeights(rowMajor: a, rows: m, matrices: matrices, packed: packed)
            for parts in [1, 2, 3] {
                let c = Self.product(weights, offset: m * k, k: k, n: n, b: b, ldb: ldb, ldc: ldc, parts: parts)
                var worst = 0.0
                for i in 0..<m { for j in 0..<n { worst = max(worst, abs(Double(c[i * ldc + j]) - want[i * n + j])) } }
                #expect(worst <= 1e-5 * Double(k), "max abs difference \(worst), packed \(weights.isPacked), \(parts) parts")
                let padding = (0..<m).flatMap { i in (n..<ldc).map { c[i * ldc + $0] } }
                #expect(padding.allSatisfy { $0 == -7 }, "columns past N untouched, packed \(weights.isPacked)")
            }
        }
    }

    /// Each output is summed in one fixed order, so a column's value must not depend on the thread split or on
    /// which other columns share the call — what keeps a patch's scores identical alone and in a batch.
    @Test("a column's result is bit-identical whatever shares its call", .enabled(if: PackedWeights.kernelAvailable))
    func columnsIndependent() {
        let m = 64, k = 300, n = 77
        var rng = SplitMix64(seed: 9)
        let a = (0..<(m * k)).map { _ in rng.nextUniform() * 2 - 1 }
        let b = (0..<(k * n)).map { _ in rng.nextUniform() * 2 - 1 }
        let weights = PackedWeights(rowMajor: a, rows: m, matrices: [(offset: 0, columns: k)])
        let whole = Self.product(weights, offset: 0, k: k, n: n, b: b, ldb: n, ldc: n, parts: 1)
        #expect(Self.product(weights, offset: 0, k: k, n: n, b: b, ldb: n, ldc: n, parts: 2) == whole)
        #expect(Self.product(weights, offset: 0, k: k, n: n, b: b, ldb: n, ldc: n, parts: 3) == whole)
        // Columns 40..<53 alone (a ragged tile that starts mid-tile in the whole call).
        let slice = Array(b.indices.filter { (40..<53).contains($0 % n) }.map { b[$0] })
        let alone = Self.product(weights, offset: 0, k: k, n: 13, b: slice, ldb: 13, ldc: 13, parts: 1)
        for i in 0..<m { #expect(Array(alone[(i * 13)..<(i * 13 + 13)]) == Array(whole[(i * n + 40)..<(i * n + 53)])) }
    }
}
