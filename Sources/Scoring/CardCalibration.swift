import AutoencoderModel
import Foundation

extension Calibration {
    /// The validated `calibration` block of a model card (``AutoencoderModel/ModelCard`` keeps the card's
    /// JSON verbatim; this decodes the block from it).
    ///
    /// ```swift
    /// let bundle = try ModelBundle.load(URL(fileURLWithPath: "models/default"))
    /// let calibration = try Calibration(card: bundle.card!)
    /// ```
    /// - Throws: ``ScoringError/missingCalibration(model:)`` when the card has none (`"calibration": null`
    ///   or no key), ``ScoringError/invalidCalibration(_:)`` when it does not decode or validate.
    public init(card: ModelCard) throws(ScoringError) {
        struct Holder: Decodable { var calibration: Calibration? }
        let holder: Holder
        do { holder = try JSONDecoder().decode(Holder.self, from: card.json) } catch {
            throw .invalidCalibration(Self.explain(error))
        }
        guard let calibration = holder.calibration else {
            throw .missingCalibration(model: "\(card.name) \(card.version)")
        }
        try calibration.validate()
        self = calibration
    }

    /// Decodes and validates a bare calibration block (JSON object).
    public init(json: Data) throws(ScoringError) {
        do { self = try JSONDecoder().decode(Calibration.self, from: json) } catch {
            throw .invalidCalibration(Self.explain(error))
        }
        try validate()
    }

    private static func explain(_ error: Error) -> String {
        func at(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "" : " at \(keys.joined(separator: "."))"
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context): return "missing key \(key.stringValue)\(at(context))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type\(at(context))"
        case DecodingError.dataCorrupted(let context): return "\(context.debugDescription)\(at(context))"
        default: return "\(error)"
        }
    }
}

/// Failures of the scoring layer, each a readable one-line description.
public enum ScoringError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The weights have no `model.json` beside them: nothing to calibrate with.
    case missingCard(weights: String)
    case missingCalibration(model: String)
    case invalidCalibration(String)
    /// The statistics came out NaN or infinite (e.g. a NaN reconstruction).
    case nonFiniteStatistics

    public var description: String {
        switch self {
        case .missingCard(let weights):
            "\(weights) has no model card (model.json) beside it; scoring needs the card's calibration block"
        case .missingCalibration(let model):
            "model \(model) has no calibration block in its model.json; scoring needs one "
                + "(export with calibration: python -m histoae_training calibrate)"
        case .invalidCalibration(let reason): "invalid calibration block in the model card: \(reason)"
        case .nonFiniteStatistics: "the statistics are not finite (NaN or infinite reconstruction?)"
        }
    }
}
