import ImageCodecs

/// The stain residual of an 8-bit patch: per pixel, the share of its optical density that lies OFF the
/// calibration's H&E ``StainPlane`` towards blue absorption — `r = max(n · od, 0) / max(|od|, 0.3)`, in `[0, 1]`,
/// with `n` oriented so `n_B ≥ 0` — and its summary `stain_p99`, the 99th percentile of `r` smoothed by the σ-4
/// Gaussian (the same smoothing and percentile as `mse_p99`). DAB, pen ink and other blue-absorbing dyes light
/// up; H&E of any intensity stays near 0. One-sided because a whole site's H&E can tilt off another site's plane
/// the other way without being a foreign stain; relative so dense nuclei and faint cytoplasm weigh alike, with
/// ``OpticalDensity/residualFloor`` keeping near-white pixels' noisy directions out (docs/scoring.md, "Signals").
/// A quality signal of the input like tissue fraction: the reconstruction plays no part. (stats.py
/// `stain_residual_map`, `stain_p99`.)
///
/// ```swift
/// let p99 = StainResidual.compute(image: rgb, normal: plane.normalVector, workspace: workspace)
/// workspace.stain                      // the (H, W) residual map, for heatmaps
/// ```
public enum StainResidual {
    /// Writes the residual of every pixel of `image` into ``ScoringWorkspace/stain`` and returns `stain_p99`.
    /// Allocates nothing: the optical densities come from ``OpticalDensity/table``, the smoothing and the
    /// percentile use the workspace's scratch planes.
    /// - Precondition: `image` has the workspace's size.
    @discardableResult
    public static func compute(image: RGBImage, normal n: SIMD3<Double>, workspace ws: ScoringWorkspace) -> Double {
        precondition(image.width == ws.width && image.height == ws.height && image.pixels.count == 3 * ws.planeCount,
                     "StainResidual: image is \(image.width)×\(image.height), workspace \(ws.width)×\(ws.height)")
        let w = ws.width, h = ws.height
        let n = n.z < 0 ? -n : n
        let floor = OpticalDensity.residualFloor
        // Per row: the three table reads per pixel first (a gather, scalar), then the formula over the row,
        // which vectorizes — the square root included: it is of a sum of squares, which the compiler can see
        // is never negative, so it needs no libm call.
        let rowRed = ws.stainScratch, rowGreen = rowRed + w, rowBlue = rowGreen + w
        OpticalDensity.table.withUnsafeBufferPointer { od in
            image.pixels.withUnsafeBufferPointer { rgb in
                ws.stain.withUnsafeMutableBufferPointer { residual in
                    for y in 0..<h {
                        let pixels = rgb.baseAddress! + 3 * y * w
                        for x in 0..<w {
                            rowRed[x] = od[Int(pixels[3 &* x])]
                            rowGreen[x] = od[Int(pixels[3 &* x &+ 1])]
                            rowBlue[x] = od[Int(pixels[3 &* x &+ 2])]
                        }
                        let out = residual.baseAddress! + y * w
                        for x in 0..<w {
                            let red = rowRed[x], green = rowGreen[x], blue = rowBlue[x]
                            let along = red * n.x + green * n.y + blue * n.z
                            let magnitude = (red * red + green * green + blue * blue).squareRoot()
                            out[x] = max(along, 0) / max(magnitude, floor)
                        }
                    }
                }
            }
        }
        return ws.stain.withUnsafeBufferPointer {
            ErrorStatistics.smoothedPercentile($0.baseAddress!, ScoringConstants.mapPercentile, ws)
        }
    }
}
