import ImageCodecs

/// Accumulates the optical-density scatter matrix `M = Σ od·odᵀ` of the stained pixels
/// (``OpticalDensity/isStained(r:g:b:)``) of 8-bit patches — the first pass of a calibration — and fits the
/// ``StainPlane``. Each patch is summed pixel by pixel in row-major order, then added to the total (stats.py
/// adds the patches' matrices in the same order). Keeps nine numbers, whatever the number of patches.
///
/// ```swift
/// var scatter = StainScatter()
/// scatter.add(rgb)                       // RGBImage, any size
/// let plane = try scatter.plane()
/// ```
public struct StainScatter: Sendable, Equatable {
    /// The upper triangle of `M`: RR, RG, RB, GG, GB, BB.
    public private(set) var rr = 0.0, rg = 0.0, rb = 0.0, gg = 0.0, gb = 0.0, bb = 0.0
    /// Stained pixels so far.
    public private(set) var pixels = 0
    /// Patches so far.
    public private(set) var patches = 0

    public init() {}

    public mutating func add(_ image: RGBImage) {
        var m = (rr: 0.0, rg: 0.0, rb: 0.0, gg: 0.0, gb: 0.0, bb: 0.0), count = 0
        OpticalDensity.table.withUnsafeBufferPointer { od in
            image.pixels.withUnsafeBufferPointer { rgb in
                let n = min(rgb.count / 3, image.width &* image.height)
                for i in 0..<n {
                    let r = od[Int(rgb[3 &* i])], g = od[Int(rgb[3 &* i &+ 1])], b = od[Int(rgb[3 &* i &+ 2])]
                    guard r + g + b > OpticalDensity.stainMinimum else { continue }
                    m.rr += r * r; m.rg += r * g; m.rb += r * b
                    m.gg += g * g; m.gb += g * b; m.bb += b * b
                    count &+= 1
                }
            }
        }
        rr += m.rr; rg += m.rg; rb += m.rb; gg += m.gg; gb += m.gb; bb += m.bb
        pixels &+= count
        patches &+= 1
    }

    /// `M` as 3 rows.
    public var matrix: [[Double]] { [[rr, rg, rb], [rg, gg, gb], [rb, gb, bb]] }

    /// The fitted plane. - Throws: ``ScoringError/stainPlane(_:)`` below ``StainPlane/minimumPixels`` pixels.
    public func plane() throws(ScoringError) -> StainPlane { try StainPlane.fit(scatter: matrix, pixels: pixels) }
}
