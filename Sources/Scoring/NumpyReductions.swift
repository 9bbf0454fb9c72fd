/// numpy's float64 reductions, reproduced operation for operation so a block built here equals the one
/// `histoae_training.stats` builds from the same values (to the last bit where the libm calls agree):
/// `np.sum` (pairwise), `np.mean`, `np.std` (population) and `np.quantile(..., method="linear")`.
///
/// ```swift
/// NumpyReductions.sum([1, 2, 3])                         // 6, summed as numpy sums
/// NumpyReductions.quantiles(values, at: [0, 0.5, 1])     // np.quantile(values, [0, 0.5, 1])
/// ```
public enum NumpyReductions {
    /// numpy's pairwise block: below it the 8-way unrolled loop, above it the halving recursion.
    static let pairwiseBlock = 128

    /// `np.sum` of a contiguous float64 array: numpy's `pairwise_sum` (8 partial sums per block of ≤ 128,
    /// combined `((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`, halves split at a multiple of 8).
    public static func sum(_ values: [Double]) -> Double {
        values.withUnsafeBufferPointer { pairwise($0.baseAddress, $0.count) }
    }

    private static func pairwise(_ a: UnsafePointer<Double>?, _ n: Int) -> Double {
        guard let a, n > 0 else { return 0 }
        if n < 8 {
            var result = 0.0
            for i in 0..<n { result += a[i] }
            return result
        }
        if n <= pairwiseBlock {
            var r = (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
            var i = 8
            while i < n - n % 8 {
                r.0 += a[i]; r.1 += a[i + 1]; r.2 += a[i + 2]; r.3 += a[i + 3]
                r.4 += a[i + 4]; r.5 += a[i + 5]; r.6 += a[i + 6]; r.7 += a[i + 7]
                i += 8
            }
            var result = ((r.0 + r.1) + (r.2 + r.3)) + ((r.4 + r.5) + (r.6 + r.7))
            while i < n { result += a[i]; i += 1 }
            return result
        }
        var half = n / 2
        half -= half % 8
        return pairwise(a, half) + pairwise(a + half, n - half)
    }

    /// `np.mean`: the pairwise sum over the count.
    public static func mean(_ values: [Double]) -> Double { sum(values) / Double(values.count) }

    /// `np.std` (population, `ddof = 0`): `sqrt(sum((x − mean)²)/n)`, as numpy's `_var` computes it.
    public static func std(_ values: [Double]) -> Double {
        let centre = mean(values)
        return (sum(values.map { ($0 - centre) * ($0 - centre) }) / Double(values.count)).squareRoot()
    }

    /// `np.quantile(values, levels)` with the default `'linear'` method: virtual index `v = (n − 1)·level`,
    /// `lo = ⌊v⌋`, `γ = v − lo`, numpy's `_lerp` between the sorted values at `lo` and `lo + 1`.
    /// - Precondition: `values` not empty, no NaN.
    public static func quantiles(_ values: [Double], at levels: [Double]) -> [Double] {
        precondition(!values.isEmpty, "quantiles of no values")
        let sorted = values.sorted(), n = sorted.count
        return levels.map { level in
            let virtual = Double(n - 1) * level
            let lo = min(n - 1, max(0, Int(virtual.rounded(.down))))
            let hi = min(n - 1, lo + 1)
            return lerp(sorted[lo], sorted[hi], virtual - Double(lo))
        }
    }

    /// numpy's `_lerp(a, b, t)`: `a + (b − a)·t`, or `b − (b − a)·(1 − t)` when `t ≥ 0.5` (exact at both ends).
    @inline(__always) static func lerp(_ a: Double, _ b: Double, _ t: Double) -> Double {
        let difference = b - a
        return t >= 0.5 ? b - difference * (1 - t) : a + difference * t
    }
}
