import ImageCodecs

/// The two quality signals of the 8-bit input patch (stats.py `tissue_fraction`, `sharpness`): how much of
/// it is tissue, and how sharp it is. Both are computed in `Double` with the same operations, in the same
/// order, as the numpy reference — so the tissue test's strict thresholds decide identically.
///
/// ```swift
/// let quality = QualitySignals(image: rgb, workspace: workspace)
/// quality.tissueFraction   // 0…1
/// quality.sharpness        // variance of the Laplacian of the gray image
/// ```
public struct QualitySignals: Sendable, Equatable {
    /// Fraction of tissue pixels: HSV saturation `(max − min)/max > 0.07` and value `max < 0.92`
    /// (`[0, 1]` units, max/min over R, G, B); black pixels (`max == 0`) count as tissue.
    public var tissueFraction: Double
    /// Population variance of the 4-neighbour Laplacian of `g = (0.299 R + 0.587 G + 0.114 B)/255`,
    /// `lap = g[i−1,j] + g[i+1,j] + g[i,j−1] + g[i,j+1] − 4 g[i,j]`, with the `'reflect'` border (the pixel
    /// outside an edge is the edge pixel itself).
    public var sharpness: Double

    public init(tissueFraction: Double, sharpness: Double) {
        self.tissueFraction = tissueFraction
        self.sharpness = sharpness
    }

    /// - Precondition: `image` has the workspace's size (its scratch planes hold the gray image and the
    ///   Laplacian; nothing is allocated).
    public init(image: RGBImage, workspace ws: ScoringWorkspace) {
        precondition(image.width == ws.width && image.height == ws.height,
                     "QualitySignals: image is \(image.width)×\(image.height), workspace \(ws.width)×\(ws.height)")
        let w = image.width, h = image.height, plane = w * h
        let gray = ws.x, lap = ws.y
        var tissue = 0
        image.pixels.withUnsafeBufferPointer { rgb in
            for i in 0..<plane {
                let r = rgb[3 &* i], g = rgb[3 &* i &+ 1], b = rgb[3 &* i &+ 2]
                let high = Double(max(r, g, b)) / 255.0
                let low = Double(min(r, g, b)) / 255.0
                let saturation = high > 0 ? (high - low) / high : 0
                if (saturation > ScoringConstants.tissueMinSaturation && high < ScoringConstants.tissueMaxValue)
                    || high == 0 { tissue += 1 }
                gray[i] = (0.299 * Double(r) + 0.587 * Double(g) + 0.114 * Double(b)) / 255.0
            }
        }
        tissueFraction = Double(tissue) / Double(plane)
        var sum = 0.0
        for yy in 0..<h {
            let up = yy == 0 ? 0 : yy - 1, down = yy == h - 1 ? h - 1 : yy + 1
            for xx in 0..<w {
                let left = xx == 0 ? 0 : xx - 1, right = xx == w - 1 ? w - 1 : xx + 1
                let centre = gray[yy * w + xx]
                let value = gray[up * w + xx] + gray[down * w + xx] + gray[yy * w + left] + gray[yy * w + right]
                    - 4.0 * centre
                lap[yy * w + xx] = value
                sum += value
            }
        }
        let mean = sum / Double(plane)
        var squares = 0.0
        for i in 0..<plane {
            let d = lap[i] - mean
            squares += d * d
        }
        sharpness = squares / Double(plane)
    }
}
