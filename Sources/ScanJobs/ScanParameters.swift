import Scoring
import SlideScanning

/// What a scan job was asked for, validated with the rules and ranges of `histoae scan` (``ScanSettings``, the
/// one place for the scan's defaults and limits, and ``Scoring/Threshold``): the tile grid (stride, least
/// tissue), the slide's µm/px when given, the score method and the threshold. Messages name the JSON fields of
/// `POST /v1/scans`.
///
/// ```swift
/// var parameters = ScanParameters()
/// parameters.threshold = .fpr(0.001)
/// try parameters.validate()
/// let scanner = try SlideScanner(engine: engine, scorer: try parameters.scorer(basedOn: engineScorer),
///                                modelMPP: 0.499, settings: parameters.settings)
/// ```
public struct ScanParameters: Sendable, Equatable {
    public var stride = ScanSettings.defaultStride
    public var minTissue = ScanSettings.defaultMinTissue
    public var slideMPP: Double?
    public var method = ScoreMethod.default
    public var threshold = ThresholdChoice.default

    public init() {}

    /// Every field in range, or one sentence naming the field that is not.
    public func validate() throws(ScanJobError) {
        do { try settings.validate(naming: \.rawValue) } catch { throw .invalidParameters(error.description) }
        do { _ = try Threshold(threshold) } catch {
            let field = if case .fpr = threshold { "fpr" } else { "threshold" }
            throw .invalidParameters("\(field): \(error.description)")
        }
    }

    /// The scan settings: these fields, everything else at ``ScanSettings``'s defaults (CSV table).
    public var settings: ScanSettings {
        var settings = ScanSettings()
        settings.stride = stride
        settings.minTissue = minTissue
        settings.slideMPP = slideMPP
        settings.tableFormat = .csv
        return settings
    }

    /// The scorer that judges the job's tiles: the engine's model and calibration with this method and threshold.
    public func scorer(basedOn engineScorer: PatchScorer) throws(ScanJobError) -> PatchScorer {
        do {
            return try PatchScorer(model: engineScorer.model, calibration: engineScorer.calibration, method: method,
                                   threshold: threshold)
        } catch {
            throw .invalidParameters(error.description)
        }
    }
}
