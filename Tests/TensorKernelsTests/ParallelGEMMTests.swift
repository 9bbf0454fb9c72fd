import Testing
import TensorKernels

/// ``BLAS/sgemm(m:n:k:a:lda:b:ldb:c:ldc:parts:)``: one image's GEMM split across threads.
@Suite("GEMM split across threads")
struct ParallelGEMMTests {
    /// `C = A·B` in Double, row-major with leading dimensions.
    static func reference(m: Int, n: Int, k: Int, a: [Float], lda: Int, b: [Float], ldb: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var sum = 0.0
            for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[p * ldb + j]) }
            c[i * n + j] = sum
        }}
        return c
    }

    /// Wide (split along N), tall (split along M), odd sizes, fewer blocks than parts; C inside a wider matrix
    /// whose other columns must stay untouched.
    @Test("equals the product, whatever the split", arguments: [(8, 300, 40), (200, 24, 70), (37, 53, 9), (16, 16, 3), (5, 1, 4)])
    func matchesProduct(m: Int, n: Int, k: Int) {
        var rng = SplitMix64(seed: UInt64(m * 1000 + n * 10 + k))
        let lda = k + 3, ldb = n + 5, ldc = n + 7
        let a = (0..<(m * lda)).map { _ in rng.nextUniform() * 2 - 1 }
        let b = (0..<(k * ldb)).map { _ in rng.nextUniform() * 2 - 1 }
        let want = Self.reference(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb)
        for parts in [1, 2, 3] {
            var c = [Float](repeating: -7, count: m * ldc)
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        BLAS.sgemm(m: m, n: n, k: k, a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb,
                                   c: c.baseAddress!, ldc: ldc, parts: parts)
                    }
                }
            }
            var worst = 0.0
            for i in 0..<m { for j in 0..<n { worst = max(worst, abs(Double(c[i * ldc + j]) - want[i * n + j])) } }
            #expect(worst <= 1e-5 * Double(k), "max abs difference \(worst) with \(parts) parts")
            let padding = (0..<m).flatMap { i in (n..<ldc).map { c[i * ldc + $0] } }
            #expect(padding.allSatisfy { $0 == -7 }, "columns past N untouched with \(parts) parts")
        }
    }
}
