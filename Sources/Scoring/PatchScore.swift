import AutoencoderModel
import ImageCodecs

/// A flag on a scored patch. JSON: the raw value.
public enum PatchFlag: String, Codable, Sendable, CaseIterable {
    /// Anomalous, and the deciding statistic shows *more* error than normal (stain, pen, artefact …).
    case highError = "high_error"
    /// Anomalous, and the deciding statistic shows *less* error than normal (blank glass, blur …).
    case lowError = "low_error"
    /// Tissue fraction far below normal: `z(tissue_fraction) ≤ −3` and below the normal 0.1% quantile.
    case background
    /// Sharpness far below normal: `z(sharpness) ≤ −3` and below the normal 0.1% quantile.
    case blur

    /// A quality flag needs a deviation at most this (standard deviations of the normal fit) …
    public static let qualityDeviation = -3.0
    /// … and a value below the normal quantile at this level.
    public static let qualityLevel = 0.001
}

/// Which model scored a patch.
public struct ModelIdentity: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    public var weightsSHA256: String

    enum CodingKeys: String, CodingKey {
        case name, version
        case weightsSHA256 = "weights_sha256"
    }

    public init(name: String, version: String, weightsSHA256: String) {
        self.name = name; self.version = version; self.weightsSHA256 = weightsSHA256
    }
}

/// The calibrated verdict on one patch. Encodes to JSON with stable snake_case keys:
///
/// ```json
/// {"statistics": {"mse": 0.0031, "l1": 0.041, "ssim": 0.94, "mse_p99": 0.02, "dssim_p99": 0.08,
///                 "tissue_fraction": 0.97, "sharpness": 0.004},
///  "method": "two_sided_log_ssim", "score": 0.43, "threshold": 0.99,
///  "threshold_source": "default for method two_sided_log_ssim", "anomalous": false,
///  "percentile": 0.45, "score_statistic": "ssim", "deviation": -0.57, "flags": [],
///  "percentiles": {…same keys…}, "deviations": {…same keys…},
///  "model": {"name": "histoae", "version": "1.0.0", "weights_sha256": "…"}}
/// ```
public struct PatchScore: Codable, Sendable, Equatable {
    /// The raw statistics.
    public var statistics: PatchStatistics
    public var method: ScoreMethod
    /// In `[0, 1]`; see ``ScoreMethod``.
    public var score: Double
    public var threshold: Double
    /// `"user"` or `"default for method <method>"`.
    public var thresholdSource: String
    /// `score ≥ threshold`.
    public var anomalous: Bool
    /// Fraction of normal patches less extreme than this one (``ScoreMethod/Outcome/percentile``).
    public var percentile: Double
    /// The statistic that decided the score.
    public var scoreStatistic: Statistic
    /// Its signed deviation `z` (positive: more error than normal).
    public var deviation: Double
    /// In ``PatchFlag`` declaration order.
    public var flags: [PatchFlag]
    /// Each statistic's percentile among normal patches, `P(v)` (for `ssim`: fraction with lower SSIM).
    public var percentiles: PatchStatistics
    /// Each statistic's signed deviation `z` (positive: more error / more than normal).
    public var deviations: PatchStatistics
    public var model: ModelIdentity

    /// In the order the JSON shows them (the synthesized encoder follows this order).
    enum CodingKeys: String, CodingKey {
        case statistics, method, score, threshold
        case thresholdSource = "threshold_source"
        case anomalous, percentile
        case scoreStatistic = "score_statistic"
        case deviation, flags, percentiles, deviations, model
    }
}

/// Turns statistics into ``PatchScore``s with one model card's calibration, one method and one threshold.
///
/// ```swift
/// let scorer = try PatchScorer(card: card)                        // ScoreMethod.default, its threshold
/// let workspace = ScoringWorkspace()
/// let result = try scorer.score(input: x, reconstruction: xHat, image: rgb, workspace: workspace)
/// if result.anomalous { print(result.flags) }
/// ```
public struct PatchScorer: Sendable {
    public let model: ModelIdentity
    public let calibration: Calibration
    public let method: ScoreMethod
    public let threshold: Double
    public let thresholdSource: String

    /// - Parameter threshold: `nil` → ``ScoreMethod/defaultThreshold``.
    /// - Throws: ``ScoringError/missingCalibration(model:)`` or ``ScoringError/invalidCalibration(_:)``.
    public init(card: ModelCard, method: ScoreMethod = .default, threshold: Double? = nil) throws(ScoringError) {
        try self.init(model: ModelIdentity(name: card.name, version: card.version, weightsSHA256: card.weights.sha256),
                      calibration: Calibration(card: card), method: method, threshold: threshold)
    }

    /// - Parameter calibration: validated (``Calibration/validate()``).
    public init(model: ModelIdentity, calibration: Calibration, method: ScoreMethod = .default,
                threshold: Double? = nil) throws(ScoringError) {
        try calibration.validate()
        self.model = model
        self.calibration = calibration
        self.method = method
        self.threshold = threshold ?? ScoreMethod.defaultThreshold
        thresholdSource = threshold == nil ? "default for method \(method.rawValue)" : "user"
    }

    /// Scores precomputed statistics. Throws ``ScoringError/nonFiniteStatistics`` for NaN/∞ values.
    public func score(_ statistics: PatchStatistics) throws(ScoringError) -> PatchScore {
        guard statistics.isFinite else { throw .nonFiniteStatistics }
        let outcome = method.evaluate(statistics, calibration: calibration)
        let deviations = PatchStatistics { calibration.deviation(of: statistics[$0], for: $0) }
        let anomalous = outcome.score >= threshold
        var flags: [PatchFlag] = []
        if anomalous && outcome.direction > 0 { flags.append(.highError) }
        if anomalous && outcome.direction < 0 { flags.append(.lowError) }
        for (statistic, flag) in [(Statistic.tissueFraction, PatchFlag.background), (.sharpness, .blur)]
        where deviations[statistic] <= PatchFlag.qualityDeviation
            && statistics[statistic] < calibration.quantile(at: PatchFlag.qualityLevel, for: statistic) {
            flags.append(flag)
        }
        return PatchScore(statistics: statistics, method: method, score: outcome.score, threshold: threshold,
                          thresholdSource: thresholdSource, anomalous: anomalous, percentile: outcome.percentile,
                          scoreStatistic: outcome.statistic, deviation: outcome.deviation, flags: flags,
                          percentiles: PatchStatistics { calibration.percentile(of: statistics[$0], for: $0) },
                          deviations: deviations, model: model)
    }

    /// Computes the statistics (maps left in `workspace`) and scores them.
    public func score(input: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>, image: RGBImage,
                      workspace: ScoringWorkspace) throws(ScoringError) -> PatchScore {
        try score(PatchStatistics.compute(input: input, reconstruction: reconstruction, image: image,
                                          workspace: workspace))
    }
}
