import Foundation

/// A separable Gaussian filter of a 2-D `Double` plane with the scipy.ndimage `'reflect'` border — the filter
/// of `training/histoae_training/stats.py` (`gaussian_filter2d`), and the one scikit-image's SSIM uses.
///
/// * Taps at integer offsets `-r…r`, `w_i = exp(-i² / (2σ²))`, normalized to sum 1.
/// * Border `'reflect'`: the plane is extended by mirroring *including* the edge pixel,
///   `d c b a | a b c d | d c b a`; for radii longer than the side the pattern repeats with period `2n`
///   (see ``reflectIndex(_:count:)``), so any radius is valid on any size.
/// * Rows first (along x), then columns (along y), each output accumulated tap by tap in ascending order
///   from zero — the same order as the numpy reference.
///
/// The index tables are built once per plane size; ``apply(_:to:temporary:padded:)`` allocates nothing.
///
/// ```swift
/// let smooth = GaussianFilter(sigma: 4, radius: 12, width: 150, height: 150)
/// smooth.apply(map, to: out, temporary: scratch, padded: row)   // pointers of ≥ 150·150 and ≥ 150+24 Doubles
/// ```
public struct GaussianFilter: Sendable {
    public let sigma: Double
    public let radius: Int
    public let width: Int
    public let height: Int
    /// Normalized taps for offsets `-radius…radius`.
    public let weights: [Double]
    /// Source column of each padded column `-radius ..< width + radius`.
    let columnSource: [Int]
    /// Source row of each padded row `-radius ..< height + radius`.
    let rowSource: [Int]
    /// `rowSource[p] mod (2·radius + 1)`: where padded row `p`'s row-filtered values sit in a ring of
    /// `2·radius + 1` rows (``SSIMMap``).
    let ringSlot: [Int]

    public init(sigma: Double, radius: Int, width: Int, height: Int) {
        precondition(sigma > 0 && radius >= 0 && width > 0 && height > 0)
        self.sigma = sigma
        self.radius = radius
        self.width = width
        self.height = height
        weights = Self.kernel(sigma: sigma, radius: radius)
        columnSource = (-radius ..< width + radius).map { Self.reflectIndex($0, count: width) }
        rowSource = (-radius ..< height + radius).map { Self.reflectIndex($0, count: height) }
        ringSlot = rowSource.map { $0 % (2 * radius + 1) }
    }

    /// `w_i = exp(-i²/(2σ²))` for `i = -radius…radius`, divided by their sum.
    public static func kernel(sigma: Double, radius: Int) -> [Double] {
        let raw = (-radius...radius).map { i -> Double in
            let d = Double(i)
            return Foundation.exp(-(d * d) / (2.0 * sigma * sigma))
        }
        let sum = raw.reduce(0, +)
        return raw.map { $0 / sum }
    }

    /// Where position `i` (possibly outside `0..<count`) reads from under the `'reflect'` border:
    /// `j = i mod 2n` (non-negative), then `j ≥ n ? 2n − 1 − j : j`.
    public static func reflectIndex(_ i: Int, count n: Int) -> Int {
        let period = 2 * n
        var j = i % period
        if j < 0 { j += period }
        return j >= n ? period - 1 - j : j
    }

    /// Filters `source` (`height × width`, row-major) into `destination`.
    ///
    /// - Parameters:
    ///   - temporary: `width · height` Doubles of scratch (the row-filtered plane).
    ///   - padded: `width + 2·radius` Doubles of scratch (one reflected row).
    ///   `destination` may not alias `source` or the scratch.
    public func apply(_ source: UnsafePointer<Double>, to destination: UnsafeMutablePointer<Double>,
                      temporary: UnsafeMutablePointer<Double>, padded: UnsafeMutablePointer<Double>) {
        let w = width, h = height, taps = 2 * radius + 1
        weights.withUnsafeBufferPointer { k in
            columnSource.withUnsafeBufferPointer { cols in
                // Along rows: reflect one row into `padded`, then filter it.
                for y in 0..<h {
                    Self.reflect(row: source + y &* w, into: padded, columns: cols.baseAddress!, width: w, radius: radius)
                    Self.accumulate(taps: taps, weights: k.baseAddress!, count: w, into: temporary + y &* w) { t in
                        UnsafePointer(padded + t)
                    }
                }
            }
            rowSource.withUnsafeBufferPointer { rows in
                // Along columns: whole rows at a time, reading reflected rows of the row-filtered plane.
                for y in 0..<h {
                    Self.accumulate(taps: taps, weights: k.baseAddress!, count: w, into: destination + y &* w) { t in
                        UnsafePointer(temporary + rows[y &+ t] &* w)
                    }
                }
            }
        }
    }

    /// `padded[p] = row[columns[p]]` for `p < width + 2·radius`: the interior is a straight copy (the table maps
    /// it to itself), so only the `2·radius` border entries go through the reflect table.
    @inline(__always)
    static func reflect(row: UnsafePointer<Double>, into padded: UnsafeMutablePointer<Double>,
                        columns: UnsafePointer<Int>, width w: Int, radius r: Int) {
        (padded + r).update(from: row, count: w)
        for p in 0..<r { padded[p] = row[columns[p]] }
        for p in r &+ w ..< w &+ 2 &* r { padded[p] = row[columns[p]] }
    }

    /// One reflected row filtered: `out[x] = Σ_t weights[t] · padded[x + t]` for `x < count` (the row pass of
    /// ``apply(_:to:temporary:padded:)``, for callers in other files: no closure crosses the file).
    static func filterRow(taps: Int, weights: UnsafePointer<Double>, count: Int, padded: UnsafePointer<Double>,
                          into out: UnsafeMutablePointer<Double>) {
        accumulate(taps: taps, weights: weights, count: count, into: out) { t in padded + t }
    }

    /// One output row of the column pass: `out[x] = Σ_t weights[t] · rows[slots[t]·rowStride + x]` for
    /// `x < count` (``apply(_:to:temporary:padded:)``'s column pass, over any store of row-filtered rows).
    static func filterColumns(taps: Int, weights: UnsafePointer<Double>, count: Int, rows: UnsafePointer<Double>,
                              rowStride: Int, slots: UnsafePointer<Int>, into out: UnsafeMutablePointer<Double>) {
        accumulate(taps: taps, weights: weights, count: count, into: out) { t in rows + slots[t] &* rowStride }
    }

    /// `out[x] = Σ_t weights[t] · row(t)[x]` for `x < count`, summed from zero in ascending `t` (numpy's order)
    /// — the outputs held in registers across all taps, so `out` is written once, not once per tap.
    /// A ragged end (150 = 4·32 + 22) is one more step ending at `count`: it recomputes a few outputs already
    /// written, with the same operations, so they are rewritten with the same bits.
    @inline(__always)
    private static func accumulate(taps: Int, weights: UnsafePointer<Double>, count: Int,
                                   into out: UnsafeMutablePointer<Double>,
                                   row: (Int) -> UnsafePointer<Double>) {
        typealias Lanes = SIMD8<Double>
        @inline(__always) func load(_ t: Int, _ x: Int) -> Lanes {
            UnsafeRawPointer(row(t) + x).loadUnaligned(as: Lanes.self)
        }
        // 32 outputs per step: four independent sums hide the adds' latency (one sum alone waits on each).
        @inline(__always) func step32(_ x: Int) {
            var s0 = Lanes(repeating: 0), s1 = s0, s2 = s0, s3 = s0
            for t in 0..<taps {
                let weight = Lanes(repeating: weights[t])
                s0 = s0 + weight * load(t, x)
                s1 = s1 + weight * load(t, x &+ 8)
                s2 = s2 + weight * load(t, x &+ 16)
                s3 = s3 + weight * load(t, x &+ 24)
            }
            let target = UnsafeMutableRawPointer(out + x)
            target.storeBytes(of: s0, as: Lanes.self)
            target.storeBytes(of: s1, toByteOffset: 64, as: Lanes.self)
            target.storeBytes(of: s2, toByteOffset: 128, as: Lanes.self)
            target.storeBytes(of: s3, toByteOffset: 192, as: Lanes.self)
        }
        var x = 0
        while x &+ 32 <= count {
            step32(x)
            x &+= 32
        }
        // The ragged end as one more full step ending at `count` (150 = 4·32 + 22): narrower steps would wait
        // on the adds' latency.
        if x < count && count >= 32 {
            step32(count &- 32)
            return
        }
        while x &+ 8 <= count {
            var sum = SIMD8<Double>(repeating: 0)
            for t in 0..<taps {
                let values = UnsafeRawPointer(row(t) + x).loadUnaligned(as: SIMD8<Double>.self)
                sum = sum + SIMD8(repeating: weights[t]) * values
            }
            UnsafeMutableRawPointer(out + x).storeBytes(of: sum, as: SIMD8<Double>.self)
            x &+= 8
        }
        if x < count && count >= 8 {
            var sum = SIMD8<Double>(repeating: 0)
            let last = count &- 8
            for t in 0..<taps {
                let values = UnsafeRawPointer(row(t) + last).loadUnaligned(as: SIMD8<Double>.self)
                sum = sum + SIMD8(repeating: weights[t]) * values
            }
            UnsafeMutableRawPointer(out + last).storeBytes(of: sum, as: SIMD8<Double>.self)
            x = count
        }
        while x < count {
            var sum = 0.0
            for t in 0..<taps { sum = sum + weights[t] * row(t)[x] }
            out[x] = sum
            x &+= 1
        }
    }
}
