/// Splits a kernel's loops (transforms, gathers, epilogues, resizes) and its GEMMs across the cores when a
/// forward pass runs alone on the machine (batch 1), on ``ThreadTeam``'s threads. ``ScratchBuffer/threads``
/// says how many parts; independent workers each run with 1, and then everything runs inline.
enum Parallel {
    /// Calls `body(part, range)` for `parts` contiguous, near-equal slices of `0..<count`, concurrently, and
    /// returns when all are done. With one part (the default for independent workers) it runs inline.
    @inline(__always)
    static func forEach(_ count: Int, parts: Int, _ body: (_ part: Int, _ range: Range<Int>) -> Void) {
        let parts = max(1, min(parts, count))
        if parts == 1 {
            body(0, 0..<count)
            return
        }
        ThreadTeam.shared.run(parts: parts) { part in
            body(part, (count * part / parts)..<(count * (part + 1) / parts))
        }
    }
}

extension BLAS {
    /// Row-major `C (M×N) = A (M×K) · B (K×N)` as `parts` independent single-threaded OpenBLAS calls run side
    /// by side through ``Parallel`` — how one image's GEMMs use every core when a forward pass runs alone.
    /// OpenBLAS's own threading scales poorly on these small matrices (1.1× on two cores), and every call packs
    /// both operands: the split is along N when `A` (the weights) is the cheaper one to pack twice, else along M.
    /// Splits fall on multiples of 16 so each part keeps whole vector tiles.
    @inline(__always)
    public static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                             ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, parts: Int) {
        let alongN = m <= n
        let blocks = ((alongN ? n : m) + 15) / 16
        if parts <= 1 || blocks < 2 {
            sgemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
            return
        }
        Parallel.forEach(blocks, parts: parts) { _, range in
            let first = range.lowerBound * 16
            if alongN {
                let end = min(n, range.upperBound * 16)
                sgemm(m: m, n: end - first, k: k, a: a, lda: lda, b: b + first, ldb: ldb, c: c + first, ldc: ldc)
            } else {
                let end = min(m, range.upperBound * 16)
                sgemm(m: end - first, n: n, k: k, a: a + first * lda, lda: lda, b: b, ldb: ldb,
                      c: c + first * ldc, ldc: ldc)
            }
        }
    }
}
