import AutoencoderModel
import Foundation
import TensorKernels

extension Calibration {
    /// The validated `calibration` block of a model card (``AutoencoderModel/ModelCard`` keeps the card's
    /// JSON verbatim; this decodes the block from it).
    ///
    /// ```swift
    /// let bundle = try ModelBundle.load(URL(fileURLWithPath: "models/default"))
    /// let calibration = try Calibration(card: bundle.card!)
    /// ```
    /// - Throws: ``ScoringError/missingCalibration(model:)`` when the card has none (`"calibration": null`
    ///   or no key), ``ScoringError/outdatedCalibration`` for a block from before scoring v2,
    ///   ``ScoringError/invalidCalibration(_:)`` when it does not decode or validate.
    public init(card: ModelCard) throws(ScoringError) {
        struct Holder: Decodable { var calibration: Calibration? }
        let holder: Holder
        do { holder = try JSONDecoder().decode(Holder.self, from: card.json) } catch is OutdatedCalibrationBlock {
            throw .outdatedCalibration
        } catch {
            throw .invalidCalibration(DecodingFailure.describe(error))
        }
        guard let calibration = holder.calibration else {
            throw .missingCalibration(model: "\(card.name) \(card.version)")
        }
        try calibration.validate()
        self = calibration
    }

    /// Decodes and validates a bare calibration block (JSON object).
    public init(json: Data) throws(ScoringError) {
        do { self = try JSONDecoder().decode(Calibration.self, from: json) } catch is OutdatedCalibrationBlock {
            throw .outdatedCalibration
        } catch {
            throw .invalidCalibration(DecodingFailure.describe(error))
        }
        try validate()
    }
}

/// Failures of the scoring layer, each a readable one-line description.
public enum ScoringError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The weights have no `model.json` beside them: nothing to calibrate with.
    case missingCard(weights: String)
    case missingCalibration(model: String)
    case invalidCalibration(String)
    /// The block predates scoring v2 (no `stain_plane`, `methods` or `stain_p99`) or the relative stain residual
    /// and tissue-weighted sharpness (no `stain_plane.od_floor`, as in 1.2.0 cards).
    case outdatedCalibration
    /// The statistics came out NaN or infinite (e.g. a NaN reconstruction).
    case nonFiniteStatistics
    /// A threshold or false-positive rate outside `[0, 1]` or not finite.
    case invalidThreshold(String)
    /// Calibrating: fewer patches than ``Calibration/minimumPatches``.
    case tooFewCalibrationPatches(count: Int, minimum: Int)
    /// Calibrating: the stain plane cannot be fitted (too few stained pixels, non-finite data).
    case stainPlane(String)
    /// Calibrating: a patch's statistics are NaN or infinite, or the builder was used out of order.
    case calibrationInput(String)

    public var description: String {
        switch self {
        case .missingCard(let weights):
            "\(weights) has no model card (model.json) beside it; scoring needs the card's calibration block"
        case .missingCalibration(let model):
            "model \(model) has no calibration block in its model.json; scoring needs one "
                + "(export with calibration: python -m histoae_training calibrate)"
        case .invalidCalibration(let reason): "invalid calibration block in the model card: \(reason)"
        case .outdatedCalibration:
            "calibration block predates scoring v2.1 (no stain_plane, or no stain_plane.od_floor 0.3: its stain "
                + "and sharpness tables measure older statistics): recalibrate with histoae calibrate"
        case .nonFiniteStatistics: "the statistics are not finite (NaN or infinite reconstruction?)"
        case .invalidThreshold(let reason): reason
        case .tooFewCalibrationPatches(let count, let minimum):
            "calibration needs at least \(minimum) patches, got \(count)"
        case .stainPlane(let reason): "cannot fit the stain plane: \(reason)"
        case .calibrationInput(let reason): "cannot calibrate: \(reason)"
        }
    }
}
