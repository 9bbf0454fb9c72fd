import Foundation
import Testing
import TensorKernels

/// ``PackedWeights`` at `precision: .bf16` (the AVX512-BF16 kernel, ``BF16Panels``) against float32, and how a
/// requested ``Precision`` resolves on a CPU without it.
@Suite("bf16 GEMM over packed weights")
struct BF16PackedWeightsTests {
    static let noBF16 = "this CPU has no AVX512-BF16 (or HISTOAE_GEMM=openblas): the bf16 kernel cannot run here"

    /// bf16 rounding as the kernel applies it (to nearest, ties to even; the test data has no NaN or denormal).
    static func bf16(_ x: Float) -> Float {
        let bits = x.bitPattern
        return Float(bitPattern: ((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16) << 16)
    }

    /// Random A (two matrices of K columns each, the one under test second: its packed offset differs from its
    /// float offset when K is odd) and B inside a wider matrix.
    struct Case {
        let m: Int, n: Int, k: Int, ldb: Int, ldc: Int
        let a: [Float], b: [Float]
        var matrices: [(offset: Int, columns: Int)] { [(offset: 0, columns: k), (offset: m * k, columns: k)] }
        var tested: ArraySlice<Float> { a[(m * k)...] }

        init(m: Int, n: Int, k: Int) {
            var rng = SplitMix64(seed: UInt64(m * 1000 + n * 10 + k))
            (self.m, self.n, self.k, ldb, ldc) = (m, n, k, n + 5, n + 7)
            a = (0..<(2 * m * k)).map { _ in rng.nextUniform() * 2 - 1 }
            b = (0..<(k * (n + 5))).map { _ in rng.nextUniform() * 2 - 1 }
        }

        /// Given operands: `a` two `(m, k)` matrices, `b` `(k, n + 5)`.
        init(m: Int, n: Int, k: Int, a: [Float], b: [Float]) {
            (self.m, self.n, self.k, ldb, ldc) = (m, n, k, n + 5, n + 7)
            (self.a, self.b) = (a, b)
        }

        /// `Σ_p f(A[i][p]) · f(B[p][j])` and `Σ_p |A[i][p] · B[p][j]|` in Double, row-major `(m, n)`.
        func reference(rounding f: (Float) -> Float) -> (product: [Double], magnitude: [Double]) {
            let a = Array(tested)
            var product = [Double](repeating: 0, count: m * n), magnitude = product
            for i in 0..<m { for j in 0..<n { for p in 0..<k {
                let x = Double(f(a[i * k + p])) * Double(f(b[p * ldb + j]))
                product[i * n + j] += x
                magnitude[i * n + j] += abs(Double(a[i * k + p]) * Double(b[p * ldb + j]))
            }}}
            return (product, magnitude)
        }
    }

    /// K odd (27: enc1's im2col; 1; 513 across the 512-deep blocks) and even; N around the 32-column tiles; rows
    /// in one panel or many (256 × 25 splits along the rows, 32 × 100 along N).
    static let shapes = [(8, 1, 27), (16, 31, 27), (64, 33, 27), (256, 25, 27), (8, 17, 1), (24, 32, 256),
                         (64, 33, 257), (32, 100, 600), (16, 70, 513), (40, 1040, 64)]

    @Test("bf16 runs wherever /proc/cpuinfo lists avx512_bf16 and the packed kernel is in use")
    func availableWhereTheCPUHasIt() {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let expected = cpuinfo.contains(" avx512_bf16") && cpuinfo.contains(" avx512bw") && PackedWeights.kernelAvailable
        #expect(GEMMCapabilities.current.bf16 == expected)
        let weights = PackedWeights(rowMajor: [Float](repeating: 1, count: 16 * 27), rows: 16,
                                    matrices: [(offset: 0, columns: 27)], precision: .bf16)
        #expect(weights.precision == (expected ? .bf16 : .fp32))
        #expect(PackedWeights(rowMajor: [Float](repeating: 1, count: 16 * 27), rows: 16,
                              matrices: [(offset: 0, columns: 27)]).precision == .fp32, "fp32 by default")
        #expect(PackedWeights(rowMajor: [Float](repeating: 1, count: 16 * 27), rows: 16, matrices: [(offset: 0, columns: 27)],
                              packed: false, precision: .bf16).precision == .fp32, "OpenBLAS has no bf16 path")
    }

    /// Against Double sums of the bf16-rounded inputs the only error left is float32 summation:
    /// `|Δ| ≤ K·2⁻²⁴·Σ|a·b|` (with a little slack). Against float32: rounding to 8 significant bits moves each input
    /// by at most 2⁻⁸ of itself, a product by `(2·2⁻⁸ + 2⁻¹⁶)` of itself, so
    /// `|bf16 − fp32| ≤ (2⁻⁷ + 2⁻¹⁶ + 2.2·K·2⁻²⁴)·Σ|a·b|` (K = 1 reaches 0.0054·|ab|: more than 2·2⁻⁹).
    /// A wrong matrix, offset or split would miss both by orders of magnitude.
    @Test("within bf16's rounding of fp32, and exactly bf16 inputs summed in float32",
          .enabled(if: GEMMCapabilities.current.bf16, Comment(rawValue: noBF16)), arguments: shapes)
    func matchesRoundedProduct(m: Int, n: Int, k: Int) {
        let test = Case(m: m, n: n, k: k)
        let (rounded, magnitude) = test.reference(rounding: Self.bf16)
        let bf16 = PackedWeights(rowMajor: test.a, rows: m, matrices: test.matrices, precision: .bf16)
        let fp32 = PackedWeights(rowMajor: test.a, rows: m, matrices: test.matrices)
        #expect(bf16.precision == .bf16)
        let exact = PackedWeightsTests.product(fp32, offset: m * k, k: k, n: n, b: test.b, ldb: test.ldb, ldc: test.ldc, parts: 1)
        let summation = 1.1 * Double(k) * 0x1p-24, rounding = 0x1p-7 + 0x1p-16 + 2 * summation
        for parts in [1, 2, 3] {
            let c = PackedWeightsTests.product(bf16, offset: m * k, k: k, n: n, b: test.b, ldb: test.ldb,
                                               ldc: test.ldc, parts: parts)
            var worstRounded = 0.0, worstFP32 = 0.0
            for i in 0..<m { for j in 0..<n {
                let got = Double(c[i * test.ldc + j]), scale = max(magnitude[i * n + j], .leastNormalMagnitude)
                worstRounded = max(worstRounded, abs(got - rounded[i * n + j]) / scale)
                worstFP32 = max(worstFP32, abs(got - Double(exact[i * test.ldc + j])) / scale)
            }}
            #expect(worstRounded <= summation, "vs bf16 inputs: |Δ|/Σ|ab| \(worstRounded), \(parts) parts")
            #expect(worstFP32 <= rounding, "vs fp32: |Δ|/Σ|ab| \(worstFP32), \(parts) parts")
            let padding = (0..<m).flatMap { i in (n..<test.ldc).map { c[i * test.ldc + $0] } }
            #expect(padding.allSatisfy { $0 == -7 }, "columns past N untouched")
        }
    }

    /// As at fp32: one fixed summation order whatever the split or the other columns, so a patch's bf16 scores are
    /// the same alone and in a batch.
    @Test("bit-identical across row and column splits and whatever shares the call",
          .enabled(if: GEMMCapabilities.current.bf16, Comment(rawValue: noBF16)), arguments: [(64, 77, 27), (256, 25, 27), (64, 77, 300)])
    func splitsAgree(m: Int, n: Int, k: Int) {
        let test = Case(m: m, n: n, k: k)
        let weights = PackedWeights(rowMajor: test.a, rows: m, matrices: test.matrices, precision: .bf16)
        let whole = PackedWeightsTests.product(weights, offset: m * k, k: k, n: n, b: test.b, ldb: test.ldb, ldc: test.ldc, parts: 1)
        for parts in [2, 3, 4] {
            #expect(PackedWeightsTests.product(weights, offset: m * k, k: k, n: n, b: test.b, ldb: test.ldb,
                                               ldc: test.ldc, parts: parts) == whole, "\(parts) parts")
        }
        // 13 columns alone, from mid-tile in the whole call (a ragged tile of their own).
        let columns = (2 * n / 5)..<min(n, 2 * n / 5 + 13)
        let slice = (0..<k).flatMap { p in columns.map { test.b[p * test.ldb + $0] } }
        let alone = PackedWeightsTests.product(weights, offset: m * k, k: k, n: columns.count, b: slice,
                                               ldb: columns.count, ldc: columns.count, parts: 1)
        for i in 0..<m {
            #expect(Array(alone[(i * columns.count)..<((i + 1) * columns.count)])
                    == columns.map { whole[i * test.ldc + $0] })
        }
    }

    @Test("bf16 resolves to fp32, with the reason, where the kernel cannot run or does not pay")
    func fallback() {
        let noInstructions = Precision.bf16.resolved(on: GEMMCapabilities(packedKernel: true, bf16Instructions: false))
        #expect(noInstructions.precision == .fp32 && noInstructions.requested == .bf16)
        #expect(noInstructions.fallbackReason == "bf16 requested but this CPU has no AVX512-BF16: running fp32")
        let openBLAS = Precision.bf16.resolved(on: GEMMCapabilities(packedKernel: false, bf16Instructions: true))
        #expect(openBLAS.precision == .fp32)
        #expect(openBLAS.fallbackReason?.contains("HISTOAE_GEMM=openblas") == true)
        let noAVX512 = Precision.bf16.resolved(on: GEMMCapabilities(packedKernel: false, bf16Instructions: false))
        #expect(noAVX512.precision == .fp32 && noAVX512.fallbackReason?.contains("no AVX512-BF16") == true)
        let runs = Precision.bf16.resolved(on: GEMMCapabilities(packedKernel: true, bf16Instructions: true))
        #expect(runs.precision == .bf16 && runs.fallbackReason == nil)
        // An Intel CPU with AVX512-BF16 but no gain from it: fp32, saying how to run the kernel anyway.
        let slower = GEMMCapabilities(packedKernel: true, bf16Instructions: true, bf16Pays: false)
        let unpaid = Precision.bf16.resolved(on: slower)
        #expect(unpaid.precision == .fp32 && unpaid.fallbackReason?.contains("no faster than fp32") == true)
        #expect(unpaid.fallbackReason?.contains("HISTOAE_GEMM=avx512-bf16") == true)
        // A model loaded at bf16 still runs the kernel there (the tests' way to it on every CPU that has it).
        #expect(Precision.bf16.runnable(on: slower) == .bf16)
        #expect(Precision.bf16.runnable(on: GEMMCapabilities(packedKernel: true, bf16Instructions: false)) == .fp32)
        #expect(Precision.fp32.runnable(on: slower) == .fp32)
        for capable in [true, false] {
            let fp32 = Precision.fp32.resolved(on: GEMMCapabilities(packedKernel: capable, bf16Instructions: capable))
            #expect(fp32.precision == .fp32 && fp32.fallbackReason == nil)
        }
        #expect(Precision(rawValue: "bf16") == .bf16 && Precision(rawValue: "fp32") == .fp32 && Precision(rawValue: "fp16") == nil)
    }
}
