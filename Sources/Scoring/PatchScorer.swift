import AutoencoderModel
import ImageCodecs

/// Turns statistics into ``PatchScore``s with one model card's calibration, one method and one threshold.
///
/// The score is a false-positive rate read backwards: `score = 1 − exceedance(D)`, where `D` is the method's
/// raw deviation (``ScoreMethod``) and `exceedance` the calibrated fraction of normal patches deviating at
/// least as much (``MethodCalibration``). A threshold `t` therefore flags about `1 − t` of normal tissue.
///
/// ```swift
/// let scorer = try PatchScorer(card: card)                                  // signals, threshold 0.99
/// let workspace = ScoringWorkspace()                                         // one per thread
/// let result = try scorer.score(input: x, reconstruction: xHat, image: rgb, workspace: workspace)
/// if result.verdict == .anomalous { print(result.flags) }
/// let lenient = try scorer.rethresholded(result, threshold: .fpr(0.05))     // no maps recomputed
/// ```
public struct PatchScorer: Sendable {
    public let model: ModelIdentity
    public let calibration: Calibration
    public let method: ScoreMethod
    /// The resolved threshold this scorer applies.
    public let limit: Threshold

    /// Anomalous when `score ≥ threshold`.
    public var threshold: Double { limit.value }
    /// `1 − threshold`.
    public var fpr: Double { limit.fpr }
    public var thresholdSource: ThresholdSource { limit.source }

    /// - Throws: ``ScoringError/missingCalibration(model:)``, ``ScoringError/outdatedCalibration``,
    ///   ``ScoringError/invalidCalibration(_:)`` or ``ScoringError/invalidThreshold(_:)``.
    public init(card: ModelCard, method: ScoreMethod = .default, threshold: ThresholdChoice = .default) throws(ScoringError) {
        try self.init(model: ModelIdentity(name: card.name, version: card.version, weightsSHA256: card.weights.sha256),
                      calibration: Calibration(card: card), method: method, threshold: threshold)
    }

    public init(model: ModelIdentity, calibration: Calibration, method: ScoreMethod = .default,
                threshold: ThresholdChoice = .default) throws(ScoringError) {
        try calibration.validate()
        self.model = model
        self.calibration = calibration
        self.method = method
        limit = try Threshold(threshold)
    }

    /// The same scorer with another threshold.
    public func with(threshold: ThresholdChoice) throws(ScoringError) -> PatchScorer {
        try PatchScorer(model: model, calibration: calibration, method: method, threshold: threshold)
    }

    /// The statistics of a patch against this scorer's stain plane (the four maps left in `workspace`).
    public func statistics(input: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>, image: RGBImage,
                           workspace: ScoringWorkspace) -> PatchStatistics {
        PatchStatistics.compute(input: input, reconstruction: reconstruction, image: image, workspace: workspace,
                                stainNormal: calibration.stainPlane.normalVector)
    }

    /// Computes the statistics (maps left in `workspace`) and scores them.
    public func score(input: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>, image: RGBImage,
                      workspace: ScoringWorkspace) throws(ScoringError) -> PatchScore {
        try score(statistics(input: input, reconstruction: reconstruction, image: image, workspace: workspace))
    }

    /// Scores precomputed statistics. Throws ``ScoringError/nonFiniteStatistics`` for NaN/∞ values.
    public func score(_ statistics: PatchStatistics) throws(ScoringError) -> PatchScore {
        guard statistics.isFinite else { throw .nonFiniteStatistics }
        let levels = calibration.quantileLevels
        let z = calibration.deviations(of: statistics)
        let signals = SignalReadings.measure(statistics, deviations: z)
        let outcome = method.evaluate(deviations: z, signals: signals)
        let table = calibration[method]
        let result = PatchScore(
            statistics: statistics, method: method,
            score: 1 - table.exceedance(of: outcome.rawDeviation, levels: levels),
            threshold: 0, fpr: 0, thresholdSource: .default, anomalous: false, verdict: .normal,
            percentile: table.percentile(of: outcome.rawDeviation, levels: levels),
            scoreStatistic: outcome.statistic, deviation: outcome.deviation, flags: [], signals: signals,
            percentiles: PatchStatistics { calibration.percentile(of: statistics[$0], for: $0) },
            deviations: z,
            calibration: CalibrationIdentity(source: calibration.source, patches: calibration.patches),
            model: model)
        return applying(limit, to: result)
    }

    /// `score` under another threshold: threshold, fpr, threshold_source, verdict, anomalous, flags and the
    /// signals' flags re-derived from the stored score and signal deviations — no maps or statistics are
    /// recomputed (the server's per-request `?fpr=`). `score` must come from a scorer with this calibration.
    public func rethresholded(_ score: PatchScore, threshold: ThresholdChoice) throws(ScoringError) -> PatchScore {
        applying(try Threshold(threshold), to: score)
    }

    /// The signals method's deviation at `threshold`: a signal at or beyond it raises its flag.
    public func flagDeviation(at threshold: Double) -> Double {
        calibration[.signals].deviation(atThreshold: threshold, levels: calibration.quantileLevels)
    }

    private func applying(_ limit: Threshold, to score: PatchScore) -> PatchScore {
        var out = score
        let isTissue = score.statistics.tissueFraction >= Verdict.notTissueMaxFraction
        out.threshold = limit.value
        out.fpr = limit.fpr
        out.thresholdSource = limit.source
        out.verdict = Verdict(tissueFraction: score.statistics.tissueFraction, score: score.score, threshold: limit.value)
        out.anomalous = out.verdict != .normal
        out.signals = score.signals.flagged(at: flagDeviation(at: limit.value), isTissue: isTissue)
        out.flags = out.signals.flags
        return out
    }
}
