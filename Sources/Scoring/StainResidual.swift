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
        let plane = ws.planeCount
        let n = n.z < 0 ? -n : n
        let floor = OpticalDensity.residualFloor
        OpticalDensity.table.withUnsafeBufferPointer { od in
            image.pixels.withUnsafeBufferPointer { rgb in
                ws.stain.withUnsafeMutableBufferPointer { r in
                    for i in 0..<plane {
                        let red = od[Int(rgb[3 &* i])], green = od[Int(rgb[3 &* i &+ 1])], blue = od[Int(rgb[3 &* i &+ 2])]
                        let along = red * n.x + green * n.y + blue * n.z
                        let magnitude = (red * red + green * green + blue * blue).squareRoot()
                        r[i] = max(along, 0) / max(magnitude, floor)
                    }
                }
            }
        }
        return ws.stain.withUnsafeBufferPointer {
            ErrorStatistics.smoothedPercentile($0.baseAddress!, ScoringConstants.mapPercentile, ws)
        }
    }
}
