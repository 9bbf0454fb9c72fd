import ImageCodecs

/// The per-patch statistics, named as in the model card's calibration block (stats.py `STATISTIC_NAMES`).
public enum Statistic: String, CaseIterable, Codable, Sendable {
    case mse, l1, ssim
    case mseP99 = "mse_p99"
    case dssimP99 = "dssim_p99"
    case tissueFraction = "tissue_fraction"
    case sharpness

    /// The reconstruction-error statistics (the rest are quality signals of the input).
    public static let errorStatistics: [Statistic] = [.mse, .l1, .ssim, .mseP99, .dssimP99]

    /// `true` for `ssim`, where a *larger* value means a *smaller* error.
    public var isSimilarity: Bool { self == .ssim }
}

/// All seven statistics of one patch — the raw values, or (in ``PatchScore``) any per-statistic quantity
/// such as percentiles or deviations. JSON keys are the statistic names (`mse`, `l1`, `ssim`, `mse_p99`,
/// `dssim_p99`, `tissue_fraction`, `sharpness`).
///
/// ```swift
/// let workspace = ScoringWorkspace()
/// let stats = PatchStatistics.compute(input: x, reconstruction: xHat, image: rgb, workspace: workspace)
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

    enum CodingKeys: String, CodingKey {
        case mse, l1, ssim
        case mseP99 = "mse_p99"
        case dssimP99 = "dssim_p99"
        case tissueFraction = "tissue_fraction"
        case sharpness
    }

    public init(mse: Double, l1: Double, ssim: Double, mseP99: Double, dssimP99: Double,
                tissueFraction: Double, sharpness: Double) {
        self.mse = mse; self.l1 = l1; self.ssim = ssim; self.mseP99 = mseP99; self.dssimP99 = dssimP99
        self.tissueFraction = tissueFraction; self.sharpness = sharpness
    }

    public init(errors: ErrorStatistics, quality: QualitySignals) {
        self.init(mse: errors.mse, l1: errors.l1, ssim: errors.ssim, mseP99: errors.mseP99,
                  dssimP99: errors.dssimP99, tissueFraction: quality.tissueFraction, sharpness: quality.sharpness)
    }

    /// Builds one from a value per statistic.
    public init(_ value: (Statistic) -> Double) {
        self.init(mse: value(.mse), l1: value(.l1), ssim: value(.ssim), mseP99: value(.mseP99),
                  dssimP99: value(.dssimP99), tissueFraction: value(.tissueFraction), sharpness: value(.sharpness))
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
            }
        }
    }

    /// `true` when every value is finite (a NaN/∞ reconstruction makes them not).
    public var isFinite: Bool { Statistic.allCases.allSatisfy { self[$0].isFinite } }

    /// Every statistic of a patch: the error maps of `input` (x) and `reconstruction` (x̂), both `(3, H, W)`
    /// normalized float32, reduced to ``ErrorStatistics``, and the ``QualitySignals`` of the 8-bit `image`
    /// (the input before normalization). The maps stay in `workspace` for pictures.
    public static func compute(input: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>, image: RGBImage,
                               workspace: ScoringWorkspace) -> PatchStatistics {
        ErrorMaps.compute(input: input, reconstruction: reconstruction, workspace: workspace)
        let errors = ErrorStatistics(workspace: workspace)
        return PatchStatistics(errors: errors, quality: QualitySignals(image: image, workspace: workspace))
    }
}
