import ImageCodecs

/// The per-patch statistics, named as in the model card's calibration block (stats.py `STATISTIC_NAMES`).
public enum Statistic: String, CaseIterable, Codable, Sendable {
    case mse, l1, ssim
    case mseP99 = "mse_p99"
    case dssimP99 = "dssim_p99"
    case tissueFraction = "tissue_fraction"
    case sharpness
    /// The 99th percentile of the smoothed stain residual (``StainResidual``): a quality signal of the input.
    case stainP99 = "stain_p99"

    /// The reconstruction-error statistics (the rest are quality signals of the input).
    public static let errorStatistics: [Statistic] = [.mse, .l1, .ssim, .mseP99, .dssimP99]

    /// `true` for `ssim`, where a *larger* value means a *smaller* error.
    public var isSimilarity: Bool { self == .ssim }
}

/// All eight statistics of one patch — the raw values, or (in ``PatchScore``) any per-statistic quantity
/// such as percentiles or deviations. JSON keys are the statistic names, in stats.py's `STATISTIC_NAMES`
/// order (`mse`, `l1`, `ssim`, `mse_p99`, `dssim_p99`, `tissue_fraction`, `sharpness`, `stain_p99`).
///
/// ```swift
/// let workspace = ScoringWorkspace()
/// let stats = PatchStatistics.compute(input: x, reconstruction: xHat, image: rgb, workspace: workspace,
///                                     stainNormal: calibration.stainPlane.normalVector)
/// stats[.dssimP99]          // the same as stats.dssimP99
/// ```
public struct PatchStatistics: Codable, Sendable, Equatable {
    public var mse: Double
    public var l1: Double
    public var ssim: Double
    public var mseP99: Double
    public var dssimP99: Double
    public var tissueFraction: Double
    public var sharpness: Double
    public var stainP99: Double

    enum CodingKeys: String, CodingKey {
        case mse, l1, ssim
        case mseP99 = "mse_p99"
        case dssimP99 = "dssim_p99"
        case tissueFraction = "tissue_fraction"
        case sharpness
        case stainP99 = "stain_p99"
    }

    public init(mse: Double, l1: Double, ssim: Double, mseP99: Double, dssimP99: Double,
                tissueFraction: Double, sharpness: Double, stainP99: Double) {
        self.mse = mse; self.l1 = l1; self.ssim = ssim; self.mseP99 = mseP99; self.dssimP99 = dssimP99
        self.tissueFraction = tissueFraction; self.sharpness = sharpness; self.stainP99 = stainP99
    }

    public init(errors: ErrorStatistics, quality: QualitySignals, stainP99: Double) {
        self.init(mse: errors.mse, l1: errors.l1, ssim: errors.ssim, mseP99: errors.mseP99,
                  dssimP99: errors.dssimP99, tissueFraction: quality.tissueFraction, sharpness: quality.sharpness,
                  stainP99: stainP99)
    }

    /// Builds one from a value per statistic.
    public init(_ value: (Statistic) -> Double) {
        self.init(mse: value(.mse), l1: value(.l1), ssim: value(.ssim), mseP99: value(.mseP99),
                  dssimP99: value(.dssimP99), tissueFraction: value(.tissueFraction), sharpness: value(.sharpness),
                  stainP99: value(.stainP99))
    }

    public subscript(statistic: Statistic) -> Double {
        get {
            switch statistic {
            case .mse: mse
            case .l1: l1
            case .ssim: ssim
            case .mseP99: mseP99
            case .dssimP99: dssimP99
            case .tissueFraction: tissueFraction
            case .sharpness: sharpness
            case .stainP99: stainP99
            }
        }
        set {
            switch statistic {
            case .mse: mse = newValue
            case .l1: l1 = newValue
            case .ssim: ssim = newValue
            case .mseP99: mseP99 = newValue
            case .dssimP99: dssimP99 = newValue
            case .tissueFraction: tissueFraction = newValue
            case .sharpness: sharpness = newValue
            case .stainP99: stainP99 = newValue
            }
        }
    }

    /// `true` when every value is finite (a NaN/∞ reconstruction makes them not).
    public var isFinite: Bool { Statistic.allCases.allSatisfy { self[$0].isFinite } }

    /// Every statistic of a patch: the error maps of `input` (x) and `reconstruction` (x̂), both `(3, H, W)`
    /// normalized float32, reduced to ``ErrorStatistics``; the ``QualitySignals`` of the 8-bit `image` (the
    /// input before normalization); and its ``StainResidual`` against the calibration's stain plane
    /// (`stainNormal`: ``StainPlane/normalVector``). The four maps stay in `workspace` for pictures.
    /// Allocates nothing.
    public static func compute(input: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>, image: RGBImage,
                               workspace: ScoringWorkspace, stainNormal: SIMD3<Double>) -> PatchStatistics {
        ErrorMaps.compute(input: input, reconstruction: reconstruction, workspace: workspace)
        let errors = ErrorStatistics(workspace: workspace)
        let quality = QualitySignals(image: image, workspace: workspace)
        let stain = StainResidual.compute(image: image, normal: stainNormal, workspace: workspace)
        return PatchStatistics(errors: errors, quality: quality, stainP99: stain)
    }
}
