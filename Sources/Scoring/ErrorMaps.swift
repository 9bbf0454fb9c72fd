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
        let c1 = (ScoringConstants.ssimK1 * ScoringConstants.dataRange) * (ScoringConstants.ssimK1 * ScoringConstants.dataRange)
        let c2 = (ScoringConstants.ssimK2 * ScoringConstants.dataRange) * (ScoringConstants.ssimK2 * ScoringConstants.dataRange)
        let filter = ws.ssimFilter
        let x = ws.x, y = ws.y, p = ws.product, tmp = ws.temporary, pad = ws.padded
        ws.ssim.withUnsafeMutableBufferPointer { ssim in
            for i in 0..<plane { ssim[i] = 0 }
            for c in 0..<channels {
                let a = input + c * plane, b = reconstruction + c * plane
                for i in 0..<plane { x[i] = Double(a[i]); y[i] = Double(b[i]) }
                filter.apply(x, to: ws.mx, temporary: tmp, padded: pad)
                filter.apply(y, to: ws.my, temporary: tmp, padded: pad)
                for i in 0..<plane { p[i] = x[i] * x[i] }
                filter.apply(p, to: ws.sxx, temporary: tmp, padded: pad)
                for i in 0..<plane { p[i] = y[i] * y[i] }
                filter.apply(p, to: ws.syy, temporary: tmp, padded: pad)
                for i in 0..<plane { p[i] = x[i] * y[i] }
                filter.apply(p, to: ws.sxy, temporary: tmp, padded: pad)
                let mx = ws.mx, my = ws.my, sxx = ws.sxx, syy = ws.syy, sxy = ws.sxy
                for i in 0..<plane {
                    let vx = sxx[i] - mx[i] * mx[i]
                    let vy = syy[i] - my[i] * my[i]
                    let vxy = sxy[i] - mx[i] * my[i]
                    ssim[i] += ((2 * mx[i] * my[i] + c1) * (2 * vxy + c2))
                        / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
                }
            }
            for i in 0..<plane { ssim[i] /= Double(channels) }
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
        ws.squaredError.withUnsafeBufferPointer { for v in $0 { seSum += v } }
        ws.absoluteError.withUnsafeBufferPointer { for v in $0 { aeSum += v } }
        ws.ssim.withUnsafeBufferPointer { s in
            for yy in r ..< h - r { for xx in r ..< w - r { ssimSum += s[yy * w + xx] } }
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

    /// The `q`-th percentile of `map` smoothed by the σ-4 filter (the smoothed plane lands in `ws.selection`).
    static func smoothedPercentile(_ map: UnsafePointer<Double>, _ q: Double, _ ws: ScoringWorkspace) -> Double {
        ws.smoothFilter.apply(map, to: ws.selection, temporary: ws.temporary, padded: ws.padded)
        return Percentile.linear(UnsafeMutableBufferPointer(start: ws.selection, count: ws.planeCount), percent: q)
    }
}

/// numpy's `np.percentile(a, q)` with the default `'linear'` method, by in-place selection (no sort, no
/// allocation).
public enum Percentile {
    /// The `percent`-th percentile of `values` (reordered in place): virtual index `v = (n − 1)·(q/100)`,
    /// `lo = ⌊v⌋`, `t = v − lo`, then numpy's `_lerp`: `a + (b − a)·t`, or `b − (b − a)·(1 − t)` when `t ≥ 0.5`.
    public static func linear(_ values: UnsafeMutableBufferPointer<Double>, percent: Double) -> Double {
        let n = values.count
        precondition(n > 0, "percentile of no values")
        let virtual = Double(n - 1) * (percent / 100)
        let lo = min(n - 1, max(0, Int(virtual.rounded(.down))))
        let hi = min(n - 1, lo + 1)
        let a = values.baseAddress!
        select(a, count: n, k: lo)
        let below = a[lo]
        var above = below
        if hi != lo {
            above = a[hi]
            for i in hi ..< n where a[i] < above { above = a[i] }
        }
        let t = virtual - Double(lo)
        let diff = above - below
        return t >= 0.5 ? above - diff * (1 - t) : below + diff * t
    }

    /// Reorders `a[0..<count]` so `a[k]` is the k-th smallest, smaller-or-equal values before it and
    /// larger-or-equal after (Hoare partition, median-of-three pivot).
    static func select(_ a: UnsafeMutablePointer<Double>, count: Int, k: Int) {
        var lo = 0, hi = count - 1
        while hi > lo {
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
    }
}

extension UnsafeMutablePointer where Pointee == Double {
    @inline(__always) fileprivate func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]; self[i] = self[j]; self[j] = t
    }
}
