import ImageCodecs
@testable import Scoring

/// The scoring code as it was before the fused, streaming versions (plain loops over materialized planes),
/// kept as the reference the fast paths must equal bit for bit (ScoringFastPathTests). Calibrations made by
/// the Python tools rest on these exact sums, so "close" is not enough.
enum ScoringReference {
    /// SSIM map over materialized planes: `x`, `y`, the three product planes and five full filter passes.
    static func ssim(_ input: [Float], _ reconstruction: [Float], width w: Int, height h: Int) -> [Double] {
        let plane = w * h, filter = GaussianFilter(sigma: 1.5, radius: 5, width: w, height: h)
        let c1 = (ScoringConstants.ssimK1 * ScoringConstants.dataRange) * (ScoringConstants.ssimK1 * ScoringConstants.dataRange)
        let c2 = (ScoringConstants.ssimK2 * ScoringConstants.dataRange) * (ScoringConstants.ssimK2 * ScoringConstants.dataRange)
        var ssim = [Double](repeating: 0, count: plane)
        var tmp = ssim, pad = [Double](repeating: 0, count: w + 10)
        func filtered(_ p: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: plane)
            filter.apply(p, to: &out, temporary: &tmp, padded: &pad)
            return out
        }
        for c in 0..<3 {
            let x = (0..<plane).map { Double(input[c * plane + $0]) }
            let y = (0..<plane).map { Double(reconstruction[c * plane + $0]) }
            let mx = filtered(x), my = filtered(y)
            let sxx = filtered((0..<plane).map { x[$0] * x[$0] })
            let syy = filtered((0..<plane).map { y[$0] * y[$0] })
            let sxy = filtered((0..<plane).map { x[$0] * y[$0] })
            for i in 0..<plane {
                let vx = sxx[i] - mx[i] * mx[i]
                let vy = syy[i] - my[i] * my[i]
                let vxy = sxy[i] - mx[i] * my[i]
                let numerator = (2 * mx[i] * my[i] + c1) * (2 * vxy + c2)
                ssim[i] += numerator / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
            }
        }
        for i in 0..<plane { ssim[i] /= 3 }
        return ssim
    }

    /// `mse`, `l1` and the cropped SSIM mean: one sequential sum per map.
    static func means(se: [Double], ae: [Double], ssim: [Double], width w: Int, height h: Int) -> [Double] {
        let r = ScoringConstants.ssimRadius
        var seSum = 0.0, aeSum = 0.0, ssimSum = 0.0
        for v in se { seSum += v }
        for v in ae { aeSum += v }
        for yy in r ..< h - r { for xx in r ..< w - r { ssimSum += ssim[yy * w + xx] } }
        return [seSum / Double(w * h), aeSum / Double(w * h), ssimSum / Double((h - 2 * r) * (w - 2 * r))]
    }

    /// Tissue fraction and sharpness, every pixel's test and gray value computed in place.
    static func quality(_ image: RGBImage) -> [Double] {
        let w = image.width, h = image.height, plane = w * h, rgb = image.pixels
        var gray = [Double](repeating: 0, count: plane), mask = gray
        var tissue = 0
        for i in 0..<plane {
            let r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2]
            let high = Double(max(r, g, b)) / 255.0, low = Double(min(r, g, b)) / 255.0
            let saturation = high > 0 ? (high - low) / high : 0
            let isTissue = (saturation > ScoringConstants.tissueMinSaturation && high < ScoringConstants.tissueMaxValue)
                || high == 0
            if isTissue { tissue += 1 }
            mask[i] = isTissue ? 1 : 0
            gray[i] = (0.299 * Double(r) + 0.587 * Double(g) + 0.114 * Double(b)) / 255.0
        }
        var energyAll = 0.0, energyTissue = 0.0
        for yy in 0..<h {
            let up = yy == 0 ? 0 : yy - 1, down = yy == h - 1 ? h - 1 : yy + 1
            for xx in 0..<w {
                let left = xx == 0 ? 0 : xx - 1, right = xx == w - 1 ? w - 1 : xx + 1
                let lap = gray[up * w + xx] + gray[down * w + xx] + gray[yy * w + left] + gray[yy * w + right]
                    - 4.0 * gray[yy * w + xx]
                energyAll += lap * lap
                energyTissue += lap * lap * mask[yy * w + xx]
            }
        }
        let perTissuePixel = tissue > 0 ? energyTissue / Double(tissue) : 0
        return [Double(tissue) / Double(plane), (energyAll / Double(plane) * perTissuePixel).squareRoot()]
    }

    /// The stain residual map, pixel by pixel.
    static func stain(_ image: RGBImage, normal: SIMD3<Double>) -> [Double] {
        let n = normal.z < 0 ? -normal : normal, od = OpticalDensity.table, rgb = image.pixels
        return (0 ..< image.width * image.height).map { i in
            let red = od[Int(rgb[3 * i])], green = od[Int(rgb[3 * i + 1])], blue = od[Int(rgb[3 * i + 2])]
            let along = red * n.x + green * n.y + blue * n.z
            let magnitude = (red * red + green * green + blue * blue).squareRoot()
            return max(along, 0) / max(magnitude, OpticalDensity.residualFloor)
        }
    }
}
