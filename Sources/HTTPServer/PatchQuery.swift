import Hummingbird
import Scoring

/// The query options of the patch endpoints, validated (400 on anything unknown or out of range).
///
/// ```swift
/// let query = try PatchQuery(request.uri.queryParameters, allowed: PatchQuery.scoreKeys)   // ?fpr=0.001
/// query.threshold                                                                         // .fpr(0.001)
/// ```
struct PatchQuery {
    enum Maps: String, CaseIterable { case png, array, none }
    enum Picture: String, CaseIterable { case panel, reconstruction, mse, ssim, stain }

    var maps = Maps.png
    var reconstruction = true
    var picture = Picture.panel
    var timeoutMilliseconds: Int?
    /// `threshold=` or `fpr=` (one of them): the request's own threshold, applied to the engine's scores with
    /// ``Scoring/PatchScorer/rethresholded(_:threshold:)``.
    var threshold = ThresholdChoice.default

    static let reconstructKeys: Set<String> = ["maps", "reconstruction", "image", "timeout_ms", "threshold", "fpr"]
    static let scoreKeys: Set<String> = ["timeout_ms", "threshold", "fpr"]

    /// The defaults: PNG maps, a reconstruction, the panel, the server's deadline, the default threshold.
    init() {}

    init(_ parameters: Parameters, allowed: Set<String>) throws {
        for (key, _) in parameters where !allowed.contains(String(key)) {
            throw Problem(.badRequest, "unknown query parameter '\(key)'; this endpoint takes \(allowed.sorted().joined(separator: ", "))")
        }
        if let value = parameters.get("maps") {
            guard let maps = Maps(rawValue: value) else { throw Self.invalid("maps", value, Maps.allCases.map(\.rawValue)) }
            self.maps = maps
        }
        if let value = parameters.get("reconstruction") {
            guard let flag = Bool(value) else { throw Self.invalid("reconstruction", value, ["true", "false"]) }
            reconstruction = flag
        }
        if let value = parameters.get("image") {
            guard let picture = Picture(rawValue: value) else { throw Self.invalid("image", value, Picture.allCases.map(\.rawValue)) }
            self.picture = picture
        }
        if let value = parameters.get("timeout_ms") {
            guard let ms = Int(value), ms >= 1 else {
                throw Problem(.badRequest, "timeout_ms must be a whole number of milliseconds ≥ 1, got '\(value)'")
            }
            timeoutMilliseconds = ms
        }
        threshold = try Self.threshold(threshold: parameters.get("threshold"), fpr: parameters.get("fpr"))
    }

    /// `threshold=T` or `fpr=F` as a checked choice: a plain decimal number in [0, 1], not both.
    static func threshold(threshold: String?, fpr: String?) throws -> ThresholdChoice {
        let choice: ThresholdChoice
        switch (threshold, fpr) {
        case (nil, nil): return .default
        case (.some, .some):
            throw Problem(.badRequest, "threshold and fpr say the same thing (threshold = 1 − fpr); give one of them")
        case (let text?, nil): choice = .threshold(try number("threshold", text))
        case (nil, let text?): choice = .fpr(try number("fpr", text))
        }
        do { _ = try Threshold(choice) } catch { throw Problem(.badRequest, error.description) }
        return choice
    }

    /// A decimal number (`0.5`, `1e-3`); hexadecimal floats, `inf` and `nan`, which `Double(_:)` would take,
    /// are refused.
    private static func number(_ name: String, _ text: String) throws -> Double {
        let decimal = !text.isEmpty && text.utf8.allSatisfy { (0x30...0x39).contains($0) || [0x2E, 0x65, 0x45, 0x2B, 0x2D].contains($0) }
        guard decimal, let value = Double(text) else {
            throw Problem(.badRequest, "\(name) must be a number in [0, 1], got '\(text)'")
        }
        return value
    }

    private static func invalid(_ name: String, _ value: String, _ allowed: [String]) -> Problem {
        Problem(.badRequest, "\(name)=\(value) is not valid; use one of \(allowed.joined(separator: ", "))")
    }
}
