import ImageCodecs

/// The two quality signals of the 8-bit input patch (stats.py `tissue_fraction`, `sharpness`): how much of
/// it is tissue, and how sharp it is. Both are computed in `Double` with the same operations, in the same
/// order, as the numpy reference — so the tissue test's strict thresholds decide identically.
///
/// ```swift
/// let quality = QualitySignals(image: rgb, workspace: workspace)
/// quality.tissueFraction   // 0…1
/// quality.sharpness        // Laplacian energy, per pixel and per tissue pixel (geometric mean)
/// ```
public struct QualitySignals: Sendable, Equatable {
    /// Fraction of tissue pixels: HSV saturation `(max − min)/max > 0.07` and value `max < 0.92`
    /// (`[0, 1]` units, max/min over R, G, B); black pixels (`max == 0`) count as tissue.
    public var tissueFraction: Double
    /// `sqrt(E_all · E_tissue)`: the geometric mean of the Laplacian energy per pixel (`E_all`, the mean of
    /// `lap²` over the patch) and per tissue pixel (`E_tissue`, over the tissue pixels; 0 without any), with
    /// `lap = g[i−1,j] + g[i+1,j] + g[i,j−1] + g[i,j+1] − 4 g[i,j]` of `g = (0.299 R + 0.587 G + 0.114 B)/255`
    /// and the `'reflect'` border (the pixel outside an edge is the edge pixel itself). Per tissue pixel, sparse
    /// sharp tissue (adipose) is not "blurred"; per pixel, smooth dense tissue (muscle) is not either; blur
    /// lowers both (docs/scoring.md, "Signals").
    public var sharpness: Double

    public init(tissueFraction: Double, sharpness: Double) {
        self.tissueFraction = tissueFraction
        self.sharpness = sharpness
    }

    /// The tissue test of one pixel, in `Double` like stats.py `tissue_mask`.
    @inline(__always) static func isTissue(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Bool {
        isTissue(high: max(r, g, b), low: min(r, g, b))
    }

    /// The tissue test from a pixel's largest and smallest channel, the only two it reads.
    static func isTissue(high max: UInt8, low min: UInt8) -> Bool {
        let high = Double(max) / 255.0
        let low = Double(min) / 255.0
        let saturation = high > 0 ? (high - low) / high : 0
        return (saturation > ScoringConstants.tissueMinSaturation && high < ScoringConstants.tissueMaxValue) || high == 0
    }

    /// ``isTissue(high:low:)`` of every `(max, min)` pair, at `max << 8 | min` (1 or 0): the same Double test
    /// evaluated once, instead of three divisions per pixel.
    static let tissueTable: [UInt8] = (0..<65536).map { isTissue(high: UInt8($0 >> 8), low: UInt8($0 & 255)) ? 1 : 0 }

    /// - Precondition: `image` has the workspace's size (its scratch planes hold the gray image, `(H, W)`,
    ///   and the Laplacian's energy per pixel; nothing is allocated).
    public init(image: RGBImage, workspace ws: ScoringWorkspace) {
        precondition(image.width == ws.width && image.height == ws.height,
                     "QualitySignals: image is \(image.width)×\(image.height), workspace \(ws.width)×\(ws.height)")
        let w = image.width, h = image.height, plane = w * h
        let gray = ws.x, energy = ws.product
        image.pixels.withUnsafeBufferPointer { rgb in
            for i in 0..<plane {
                let r = rgb[3 &* i], g = rgb[3 &* i &+ 1], b = rgb[3 &* i &+ 2]
                gray[i] = (0.299 * Double(r) + 0.587 * Double(g) + 0.114 * Double(b)) / 255.0
            }
        }
        // The Laplacian's energy per pixel first (independent, so it vectorizes).
        for yy in 0..<h {
            let up = gray + (yy == 0 ? 0 : yy - 1) * w, down = gray + (yy == h - 1 ? h - 1 : yy + 1) * w
            let row = gray + yy * w, out = energy + yy * w
            @inline(__always) func lap(_ xx: Int, left: Int, right: Int) -> Double {
                let value = up[xx] + down[xx] + row[left] + row[right] - 4.0 * row[xx]
                return value * value
            }
            out[0] = lap(0, left: 0, right: min(1, w - 1))
            for xx in 1 ..< max(1, w - 1) { out[xx] = lap(xx, left: xx - 1, right: xx + 1) }
            out[w - 1] = lap(w - 1, left: max(0, w - 2), right: w - 1)
        }
        // Then the two sums in pixel order, side by side: each add waits on the one before, so the tissue test
        // (a table read) rides along for free.
        var tissue = 0
        var energyAll = 0.0, energyTissue = 0.0
        image.pixels.withUnsafeBufferPointer { rgb in
            Self.tissueTable.withUnsafeBufferPointer { table in
                for i in 0..<plane {
                    let r = rgb[3 &* i], g = rgb[3 &* i &+ 1], b = rgb[3 &* i &+ 2]
                    let isTissue = table[Int(max(r, g, b)) &<< 8 | Int(min(r, g, b))]
                    tissue &+= Int(isTissue)
                    energyAll += energy[i]
                    energyTissue += energy[i] * Double(isTissue)
                }
            }
        }
        tissueFraction = Double(tissue) / Double(plane)
        let perTissuePixel = tissue > 0 ? energyTissue / Double(tissue) : 0
        sharpness = (energyAll / Double(plane) * perTissuePixel).squareRoot()
    }
}
