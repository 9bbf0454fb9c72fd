import AutoencoderModel
import ImageCodecs

/// A flag on a scored patch: the name of an ``ArtefactSignal`` (JSON `"high_error"`, `"stain"`, `"blur"`,
/// `"background"`).
public typealias PatchFlag = ArtefactSignal

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

/// Which calibration a score was measured against: JSON `{"source": "...", "patches": n}`.
public struct CalibrationIdentity: Codable, Sendable, Equatable {
    public var source: String
    public var patches: Int

    public init(source: String, patches: Int) {
        self.source = source; self.patches = patches
    }
}

/// The calibrated verdict on one patch. Encodes to JSON with stable snake_case keys, in this order:
///
/// ```json
/// {"statistics": {"mse": 0.0031, "l1": 0.041, "ssim": 0.94, "mse_p99": 0.02, "dssim_p99": 0.08,
///                 "tissue_fraction": 0.97, "sharpness": 0.004, "stain_p99": 0.05},
///  "method": "signals", "score": 0.43, "threshold": 0.99, "fpr": 0.01,
///  "threshold_source": "default (fpr 0.01)", "anomalous": false, "verdict": "normal",
///  "percentile": 0.43, "score_statistic": "dssim_p99", "deviation": 0.21, "flags": [],
///  "signals": {"high_error": {"deviation": 0.21, "statistic": "dssim_p99", "flag": false}, "stain": {…},
///              "blur": {…}, "background": {…}},
///  "percentiles": {…the statistics' keys…}, "deviations": {…},
///  "calibration": {"source": "…", "patches": 500},
///  "model": {"name": "histoae", "version": "1.0.0", "weights_sha256": "…"}}
/// ```
public struct PatchScore: Codable, Sendable, Equatable {
    /// The raw statistics.
    public var statistics: PatchStatistics
    public var method: ScoreMethod
    /// `1 − exceedance(D)` in `[0, 1)`: the estimated fraction of normal patches that deviate less.
    public var score: Double
    public var threshold: Double
    /// `1 − threshold`: the nominal false-positive rate.
    public var fpr: Double
    public var thresholdSource: ThresholdSource
    /// `verdict != .normal`.
    public var anomalous: Bool
    public var verdict: Verdict
    /// `P(D)` from the method's quantile table alone (no tail).
    public var percentile: Double
    /// The statistic that decided the score.
    public var scoreStatistic: Statistic
    /// The deviation the method reports (``ScoreMethod/Outcome/deviation``).
    public var deviation: Double
    /// Raised signals, in signal order.
    public var flags: [PatchFlag]
    public var signals: SignalReadings
    /// Each statistic's percentile among normal patches, `P(v)` (for `ssim`: fraction with lower SSIM).
    public var percentiles: PatchStatistics
    /// Each statistic's signed deviation `z` (positive: more error / more than normal).
    public var deviations: PatchStatistics
    public var calibration: CalibrationIdentity
    public var model: ModelIdentity

    /// In the order the JSON shows them (the synthesized encoder follows this order).
    enum CodingKeys: String, CodingKey {
        case statistics, method, score, threshold, fpr
        case thresholdSource = "threshold_source"
        case anomalous, verdict, percentile
        case scoreStatistic = "score_statistic"
        case deviation, flags, signals, percentiles, deviations, calibration, model
    }
}
