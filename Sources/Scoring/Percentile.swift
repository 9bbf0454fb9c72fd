/// numpy's `np.percentile(a, q)` with the default `'linear'` method, by selection (no sort, no allocation).
///
/// ```swift
/// let p99 = Percentile.linear(map, percent: 99)                        // map reordered in place
/// let same = Percentile.linear(map, percent: 99, scratch: spare)       // map untouched on the fast path
/// ```
///
/// The value returned is fixed by the values alone, whichever way they are selected: the `k`-th and
/// `(k + 1)`-th order statistics. The one exception is a tie of `-0.0` with `+0.0` (equal, different bits) or a
/// NaN (unordered): the fast path (``highOrderStatistics(_:count:k:scratch:)``) leaves those to the original
/// selection, so the result is bit for bit the original's on every input.
public enum Percentile {
    /// The `percent`-th percentile of `values` (reordered in place): virtual index `v = (n − 1)·(q/100)`,
    /// `lo = ⌊v⌋`, `t = v − lo`, then numpy's `_lerp`: `a + (b − a)·t`, or `b − (b − a)·(1 − t)` when `t ≥ 0.5`.
    public static func linear(_ values: UnsafeMutableBufferPointer<Double>, percent: Double) -> Double {
        linear(values, percent: percent, scratch: nil)
    }

    /// The same percentile; with `scratch` (room for `values.count` Doubles) a high percentile of a large
    /// array is selected among the few values above a sampled threshold, and `values` is left as it was.
    static func linear(_ values: UnsafeMutableBufferPointer<Double>, percent: Double,
                       scratch: UnsafeMutablePointer<Double>?) -> Double {
        let n = values.count
        precondition(n > 0, "percentile of no values")
        let virtual = Double(n - 1) * (percent / 100)
        let lo = min(n - 1, max(0, Int(virtual.rounded(.down))))
        let hi = min(n - 1, lo + 1)
        let a = values.baseAddress!
        var below: Double, above: Double
        if let scratch, let pair = highOrderStatistics(UnsafePointer(a), count: n, k: lo, scratch: scratch) {
            below = pair.kth
            above = hi != lo ? pair.next : below
        } else {
            select(a, count: n, k: lo)
            below = a[lo]
            above = below
            if hi != lo {
                above = a[hi]
                for i in hi ..< n where a[i] < above { above = a[i] }
            }
        }
        let t = virtual - Double(lo)
        let diff = above - below
        return t >= 0.5 ? above - diff * (1 - t) : below + diff * t
    }

    /// Reorders `a[0..<count]` so `a[k]` is the k-th smallest, smaller-or-equal values before it and
    /// larger-or-equal after (Hoare partition, median-of-three pivot).
    static func select(_ a: UnsafeMutablePointer<Double>, count: Int, k: Int) {
        var lo = 0, hi = count - 1
        while hi > lo {
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
    }

    /// Samples kept to place the threshold (2 KB of the scratch).
    static let sampleCount = 256

    /// The `k`-th and `(k + 1)`-th smallest of `a[0..<count]` (the second is `kth` when `k` is the last) for a
    /// `k` near the top (the 99th percentile of a 150 × 150 map: the 226 largest of 22 500), or `nil` to
    /// leave it to ``select(_:count:k:)``.
    ///
    /// A threshold `T` is read from an evenly spaced sample, a few times more of the sample above it than the
    /// top's share; one pass copies the values `≥ T` into `scratch` (8 at a time skipped when none is), and
    /// ``select(_:count:k:)`` runs on those only (about 5 % of the values). `nil` — the caller selects as
    /// before — when `T` is not positive (a tie of `±0` could then matter), when a NaN turns up, or when more
    /// than `count − k` values reach `T` (the sample missed). `a` is only read.
    static func highOrderStatistics(_ a: UnsafePointer<Double>, count n: Int, k: Int,
                                    scratch: UnsafeMutablePointer<Double>) -> (kth: Double, next: Double)? {
        let top = n - k                                      // values ranked k or higher
        guard n >= 16 * sampleCount, k >= 0, top <= n / 16 else { return nil }
        for i in 0..<sampleCount { scratch[i] = a[i * (n / sampleCount)] }
        let expected = (sampleCount * top + n - 1) / n       // sample values expected at or above rank k
        let rank = sampleCount - 1 - (2 * expected + 8)
        guard rank >= 0 else { return nil }
        select(scratch, count: sampleCount, k: rank)
        let threshold = scratch[rank]
        guard threshold > 0 else { return nil }              // also refuses a NaN threshold

        var count = 0, i = 0
        let limit = SIMD8<Double>(repeating: threshold)
        while i &+ 8 <= n {
            let v = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Double>.self)
            if any((v .>= limit) .| (v .!= v)) {
                for j in i ..< i &+ 8 {
                    let x = a[j]
                    if x != x { return nil }
                    scratch[count] = x
                    count &+= x >= threshold ? 1 : 0
                }
            }
            i &+= 8
        }
        while i < n {
            let x = a[i]
            if x != x { return nil }
            scratch[count] = x
            count &+= x >= threshold ? 1 : 0
            i &+= 1
        }
        let smaller = n - count                              // all below T, so all below the k-th
        guard smaller <= k else { return nil }
        let position = k - smaller
        select(scratch, count: count, k: position)
        let kth = scratch[position]
        var next = kth
        if position + 1 < count {
            next = scratch[position + 1]
            for j in position + 1 ..< count where scratch[j] < next { next = scratch[j] }
        }
        return (kth, next)
    }
}

extension UnsafeMutablePointer where Pointee == Double {
    @inline(__always) fileprivate func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]; self[i] = self[j]; self[j] = t
    }
}
