import Foundation
import TensorKernels

/// `model.json`, the model card written by `python -m histoae_training export` next to `model.safetensors`:
/// who the model is (name, version, weight hash), how it was trained and validated, and the calibration block
/// the scoring module turns errors into percentiles with. The full JSON is kept verbatim for `GET /v1/model`.
///
/// ```swift
/// let card = try ModelCard(contentsOf: folder.appendingPathComponent("model.json"))
/// print(card.name, card.version, card.validation?.ssim ?? .nan)
/// ```
public struct ModelCard: Sendable, Decodable {
    public struct Weights: Sendable, Decodable {
        public var file: String
        public var sha256: String
        public var dtype: String?
    }

    public struct Validation: Sendable, Decodable {
        public var split: String?
        public var patches: Int?
        public var mse: Double?
        public var l1: Double?
        public var ssim: Double?
    }

    public var name: String
    public var version: String
    public var description: String?
    public var weights: Weights
    public var validation: Validation?
    /// The card's bytes as written, for serving it unchanged.
    public private(set) var json = Data()
    /// Whether the card carries a calibration block (scoring needs one).
    public private(set) var hasCalibration = false

    private enum CodingKeys: String, CodingKey { case name, version, description, weights, validation }

    public init(contentsOf url: URL) throws(ModelCardError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(url.path, error.localizedDescription) }
        try self.init(json: data, path: url.path)
    }

    public init(json data: Data, path: String = "model.json") throws(ModelCardError) {
        do { self = try JSONDecoder().decode(ModelCard.self, from: data) } catch {
            throw .malformed(path, DecodingFailure.describe(error))
        }
        json = data
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        hasCalibration = object?["calibration"] is [String: Any]
    }

}

public enum ModelCardError: Error, Equatable, CustomStringConvertible {
    case unreadable(String, String)
    case malformed(String, String)
    case weightsMismatch(card: String, expected: String, found: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let why): "cannot read model card \(path): \(why)"
        case .malformed(let path, let why): "model card \(path) is not valid: \(why)"
        case .weightsMismatch(let card, let expected, let found):
            "weights do not match their model card \(card): sha256 \(found), the card says \(expected)"
        }
    }
}
