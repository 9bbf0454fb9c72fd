/// The per-pixel error maps of a patch and its reconstruction, in the normalized `[-1, 1]` space, computed
/// in `Double` exactly as `training/histoae_training/stats.py` (`se_map`, `ae_map`, `ssim_map`).
///
/// Inputs are `(3, H, W)` float32 buffers (channel-major, as the engine writes them). The maps land in the
/// workspace (``ScoringWorkspace/squaredError``, ``ScoringWorkspace/absoluteError``, ``ScoringWorkspace/ssim``);
/// nothing is allocated.
///
/// ```swift
/// let workspace = ScoringWorkspace()
/// ErrorMaps.compute(input: x, reconstruction: xHat, workspace: workspace)
/// let errors = ErrorStatistics(workspace: workspace)   // mse, l1, ssim, mse_p99, dssim_p99
/// ```
///
/// **SSIM** (Wang et al. 2004; docs/model.md §15), per channel with `G` the Gaussian filter (σ 1.5, radius 5,
/// `'reflect'` border — see ``GaussianFilter``), `C1 = (0.01·2)²`, `C2 = (0.03·2)²`, population variances:
///
///     mx = G(x), my = G(y), vx = G(x·x) − mx², vy = G(y·y) − my², vxy = G(x·y) − mx·my
///     S  = (2·mx·my + C1)(2·vxy + C2) / ((mx² + my² + C1)(vx + vy + C2))
///
/// then averaged over the three channels. Every pixel is kept, border included: the border pixels see the
/// reflected image. The *mean* SSIM statistic crops 5 pixels on every side (scikit-image's convention).
public enum ErrorMaps {
    public static func compute(input: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>,
                               workspace ws: ScoringWorkspace) {
        let plane = ws.planeCount
        let channels = 3
        ws.squaredError.withUnsafeMutableBufferPointer { se in
            ws.absoluteError.withUnsafeMutableBufferPointer { ae in
                for i in 0..<plane {
                    var sq = 0.0, ab = 0.0
                    for c in 0..<channels {
                        let d = Double(input[c &* plane &+ i]) - Double(reconstruction[c &* plane &+ i])
                        sq += d * d
                        ab += abs(d)
                    }
                    se[i] = sq / Double(channels)
                    ae[i] = ab / Double(channels)
                }
            }
        }
        // SSIM per channel, summed into the map and divided by the channel count at the last channel (SSIMMap: no filtered
        // planes materialized; the same sums in the same order).
        ws.ssim.withUnsafeMutableBufferPointer { ssim in
            for c in 0..<channels {
                let step: SSIMMap.Step = c == 0 ? .first : c == channels - 1 ? .last(channels: channels) : .middle
                SSIMMap.addChannel(input + c * plane, reconstruction + c * plane, step: step,
                                   into: ssim.baseAddress!, workspace: ws)
            }
        }
    }
}

/// The five error statistics of a patch (stats.py `patch_statistics` without the quality signals), read
/// from the maps in a workspace after ``ErrorMaps/compute(input:reconstruction:workspace:)``.
public struct ErrorStatistics: Sendable, Equatable {
    /// Mean of the squared-error map.
    public var mse: Double
    /// Mean of the absolute-error map.
    public var l1: Double
    /// Mean of the SSIM map cropped by 5 pixels on every side (= scikit-image's mean SSIM).
    public var ssim: Double
    /// 99th percentile (numpy `'linear'`) of the squared-error map smoothed by a Gaussian (σ 4, radius 12, reflect).
    public var mseP99: Double
    /// 99th percentile of `(1 − SSIM map)/2`, smoothed the same way.
    public var dssimP99: Double

    public init(mse: Double, l1: Double, ssim: Double, mseP99: Double, dssimP99: Double) {
        self.mse = mse; self.l1 = l1; self.ssim = ssim; self.mseP99 = mseP99; self.dssimP99 = dssimP99
    }

    /// Reduces the maps of `workspace` (uses its scratch planes; allocates nothing).
    public init(workspace ws: ScoringWorkspace) {
        let plane = ws.planeCount, w = ws.width, h = ws.height, r = ScoringConstants.ssimRadius
        var seSum = 0.0, aeSum = 0.0, ssimSum = 0.0
        ws.squaredError.withUnsafeBufferPointer { se in
            ws.absoluteError.withUnsafeBufferPointer { ae in
                ws.ssim.withUnsafeBufferPointer { s in
                    // Three plain sums, each in its own original order (every value in turn), in one pass:
                    // each add waits on the one before, so one sum alone runs at the add's latency; three side
                    // by side overlap.
                    for yy in 0..<h {
                        let row = yy * w
                        if yy >= r && yy < h - r {
                            for i in row ..< row + r { seSum += se[i]; aeSum += ae[i] }
                            for i in row + r ..< row + w - r { seSum += se[i]; aeSum += ae[i]; ssimSum += s[i] }
                            for i in row + w - r ..< row + w { seSum += se[i]; aeSum += ae[i] }
                        } else {
                            for i in row ..< row + w { seSum += se[i]; aeSum += ae[i] }
                        }
                    }
                }
            }
        }
        mse = seSum / Double(plane)
        l1 = aeSum / Double(plane)
        ssim = ssimSum / Double((h - 2 * r) * (w - 2 * r))
        let q = ScoringConstants.mapPercentile
        mseP99 = ws.squaredError.withUnsafeBufferPointer { Self.smoothedPercentile($0.baseAddress!, q, ws) }
        dssimP99 = ws.ssim.withUnsafeBufferPointer { s in
            let d = ws.product
            for i in 0..<plane { d[i] = (1.0 - s[i]) / 2.0 }
            return Self.smoothedPercentile(UnsafePointer(d), q, ws)
        }
    }

    /// The `q`-th percentile of `map` smoothed by the σ-4 filter (the smoothed plane lands in `ws.selection`;
    /// the filter's scratch plane, free again, is the percentile's).
    static func smoothedPercentile(_ map: UnsafePointer<Double>, _ q: Double, _ ws: ScoringWorkspace) -> Double {
        ws.smoothFilter.apply(map, to: ws.selection, temporary: ws.temporary, padded: ws.padded)
        return Percentile.linear(UnsafeMutableBufferPointer(start: ws.selection, count: ws.planeCount), percent: q,
                                 scratch: ws.temporary)
    }
}
