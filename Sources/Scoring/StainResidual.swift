import ImageCodecs

/// The stain residual of an 8-bit patch: per pixel, how much optical density lies OFF the calibration's H&E
/// ``StainPlane`` — `r = |n · od|` (OD units) — and its summary `stain_p99`, the 99th percentile of `r`
/// smoothed by the σ-4 Gaussian (the same smoothing and percentile as `mse_p99`). Pen ink, DAB and other dyes
/// absorb in directions H&E do not, so they light up; H&E of any intensity stays near 0. A quality signal of
/// the input like tissue fraction: the reconstruction plays no part. (stats.py `stain_residual_map`,
/// `stain_p99`.)
///
/// ```swift
/// let p99 = StainResidual.compute(image: rgb, normal: plane.normalVector, workspace: workspace)
/// workspace.stain                      // the (H, W) residual map, for heatmaps
/// ```
public enum StainResidual {
    /// Writes `|n · od|` of every pixel of `image` into ``ScoringWorkspace/stain`` and returns `stain_p99`.
    /// Allocates nothing: the optical densities come from ``OpticalDensity/table``, the smoothing and the
    /// percentile use the workspace's scratch planes.
    /// - Precondition: `image` has the workspace's size.
    @discardableResult
    public static func compute(image: RGBImage, normal n: SIMD3<Double>, workspace ws: ScoringWorkspace) -> Double {
        precondition(image.width == ws.width && image.height == ws.height && image.pixels.count == 3 * ws.planeCount,
                     "StainResidual: image is \(image.width)×\(image.height), workspace \(ws.width)×\(ws.height)")
        let plane = ws.planeCount
        OpticalDensity.table.withUnsafeBufferPointer { od in
            image.pixels.withUnsafeBufferPointer { rgb in
                ws.stain.withUnsafeMutableBufferPointer { r in
                    for i in 0..<plane {
                        let red = od[Int(rgb[3 &* i])], green = od[Int(rgb[3 &* i &+ 1])], blue = od[Int(rgb[3 &* i &+ 2])]
                        r[i] = abs(red * n.x + green * n.y + blue * n.z)
                    }
                }
            }
        }
        return ws.stain.withUnsafeBufferPointer {
            ErrorStatistics.smoothedPercentile($0.baseAddress!, ScoringConstants.mapPercentile, ws)
        }
    }
}
