/// Reusable memory for scoring patches of one size: the three error maps and the stain residual map (read
/// them after a computation)
/// and every scratch plane the filters, SSIM and the percentile need. Scoring a patch allocates nothing
/// once a workspace exists — create one per thread and reuse it for every patch (it is not `Sendable`).
///
/// ```swift
/// let workspace = ScoringWorkspace()                      // 150 × 150
/// ErrorMaps.compute(input: x, reconstruction: xHat, workspace: workspace)
/// let worst = workspace.squaredError.max()               // (H, W) row-major, normalized space
/// ```
public final class ScoringWorkspace {
    /// Plane size; inputs are `(3, height, width)`.
    public let width: Int
    public let height: Int

    /// `mean_c (x − x̂)²` per pixel, `(H, W)` row-major (after ``ErrorMaps/compute(input:reconstruction:workspace:)``).
    public internal(set) var squaredError: [Double]
    /// `mean_c |x − x̂|` per pixel, `(H, W)`.
    public internal(set) var absoluteError: [Double]
    /// The SSIM map averaged over the channels, `(H, W)`, border pixels included.
    public internal(set) var ssim: [Double]
    /// The stain residual (share of a pixel's optical density off the H&E plane, 0 … 1) per pixel, `(H, W)` (after ``StainResidual/compute(image:normal:workspace:)``).
    public internal(set) var stain: [Double]

    /// SSIM window: σ 1.5, radius 5 (11 × 11).
    let ssimFilter: GaussianFilter
    /// Smoothing before the 99th percentiles: σ 4, radius 12.
    let smoothFilter: GaussianFilter

    /// Scratch planes, each `width · height` Doubles, carved out of one allocation.
    let x, product, temporary, selection: UnsafeMutablePointer<Double>
    /// One reflected row for the widest filter.
    let padded: UnsafeMutablePointer<Double>
    /// ``SSIMMap``'s five reflected rows (x, y, x·x, y·y, x·y), each `width + 2·ssimRadius`, then its five
    /// column-filtered rows, each `width`.
    let ssimRows: UnsafeMutablePointer<Double>
    /// ``SSIMMap``'s ring: five quantities × `2·ssimRadius + 1` row-filtered rows of `width`.
    let ssimRing: UnsafeMutablePointer<Double>
    /// ``StainResidual``'s three rows (the optical densities of R, G and B), each `width`.
    let stainScratch: UnsafeMutablePointer<Double>
    private let storage: UnsafeMutableBufferPointer<Double>

    /// - Precondition: both sides > 10, so the SSIM mean (cropped by 5 on every side) is defined.
    public init(width: Int = 150, height: Int = 150) {
        precondition(width > 2 * ScoringConstants.ssimRadius && height > 2 * ScoringConstants.ssimRadius,
                     "ScoringWorkspace: planes must be larger than 10 × 10, got \(width) × \(height)")
        self.width = width
        self.height = height
        let plane = width * height
        squaredError = [Double](repeating: 0, count: plane)
        absoluteError = [Double](repeating: 0, count: plane)
        ssim = [Double](repeating: 0, count: plane)
        stain = [Double](repeating: 0, count: plane)
        ssimFilter = GaussianFilter(sigma: ScoringConstants.ssimSigma, radius: ScoringConstants.ssimRadius,
                                    width: width, height: height)
        smoothFilter = GaussianFilter(sigma: ScoringConstants.smoothSigma, radius: ScoringConstants.smoothRadius,
                                      width: width, height: height)
        let planes = 4
        let paddedCount = width + 2 * ScoringConstants.smoothRadius
        let ssimRowsCount = SSIMMap.quantities * (2 * width + 2 * ScoringConstants.ssimRadius)
        let ssimRingCount = SSIMMap.quantities * (2 * ScoringConstants.ssimRadius + 1) * width
        let stainScratchCount = 3 * width
        storage = .allocate(capacity: planes * plane + paddedCount + ssimRowsCount + ssimRingCount + stainScratchCount)
        storage.initialize(repeating: 0)
        let base = storage.baseAddress!
        x = base; product = base + plane
        temporary = base + 2 * plane; selection = base + 3 * plane
        padded = base + planes * plane
        ssimRows = padded + paddedCount
        ssimRing = ssimRows + ssimRowsCount
        stainScratch = ssimRing + ssimRingCount
    }

    deinit { storage.deallocate() }

    /// Pixels per plane.
    public var planeCount: Int { width * height }
}

/// The constants of the statistics (docs/model.md §15 and `training/histoae_training/stats.py`).
public enum ScoringConstants {
    /// SSIM: 11 × 11 Gaussian window (σ 1.5, radius 5), K1 0.01, K2 0.03, data range L = 2 ([−1, 1]).
    public static let ssimSigma = 1.5
    public static let ssimRadius = 5
    public static let ssimK1 = 0.01
    public static let ssimK2 = 0.03
    public static let dataRange = 2.0
    /// Smoothing applied to the error maps before their 99th percentile: σ 4, radius 12.
    public static let smoothSigma = 4.0
    public static let smoothRadius = 12
    /// The percentile of the smoothed maps (`mse_p99`, `dssim_p99`, `stain_p99`).
    public static let mapPercentile = 99.0
    /// Tissue test ([0, 1] units): HSV saturation `> 0.07` and value `< 0.92` (black counts as tissue).
    public static let tissueMinSaturation = 0.07
    public static let tissueMaxValue = 0.92
}
