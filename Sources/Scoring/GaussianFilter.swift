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

    public init(sigma: Double, radius: Int, width: Int, height: Int) {
        precondition(sigma > 0 && radius >= 0 && width > 0 && height > 0)
        self.sigma = sigma
        self.radius = radius
        self.width = width
        self.height = height
        weights = Self.kernel(sigma: sigma, radius: radius)
        columnSource = (-radius ..< width + radius).map { Self.reflectIndex($0, count: width) }
        rowSource = (-radius ..< height + radius).map { Self.reflectIndex($0, count: height) }
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
                // Along rows: reflect one row into `padded`, then accumulate tap by tap.
                for y in 0..<h {
                    let src = source + y &* w, out = temporary + y &* w
                    for p in 0 ..< w &+ 2 &* radius { padded[p] = src[cols[p]] }
                    for x in 0..<w { out[x] = 0 }
                    for t in 0..<taps {
                        let weight = k[t], shifted = padded + t
                        for x in 0..<w { out[x] += weight * shifted[x] }
                    }
                }
            }
            rowSource.withUnsafeBufferPointer { rows in
                // Along columns: whole rows at a time, reading reflected source rows.
                for y in 0..<h {
                    let out = destination + y &* w
                    for x in 0..<w { out[x] = 0 }
                    for t in 0..<taps {
                        let weight = k[t], src = temporary + rows[y &+ t] &* w
                        for x in 0..<w { out[x] += weight * src[x] }
                    }
                }
            }
        }
    }
}
