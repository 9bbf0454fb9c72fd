import Hummingbird
import RequestParsing

/// What a patch endpoint answers with, chosen from `Accept` (RFC 9110 §12.5.1: each type gets the `q` of its
/// most specific range, the higher wins; on a tie JSON, the default).
enum ResponseFormat: Equatable {
    case json
    case png

    static let jsonType = "application/json"
    static let pngType = "image/png"

    /// - Parameter allowPNG: whether this request can be answered with one PNG.
    /// - Throws: 406 when the client accepts neither.
    static func negotiate(_ accept: String?, allowPNG: Bool) throws -> ResponseFormat {
        guard let accept, accept.contains(where: { !$0.isWhitespace }) else { return .json }
        let ranges = AcceptHeader(parsing: accept)
        let jsonQ = ranges.quality(of: jsonType)
        let pngQ = allowPNG ? ranges.quality(of: pngType) : 0
        if jsonQ == 0 && pngQ == 0 {
            let offered = allowPNG ? "application/json or image/png" : "application/json"
            throw Problem(.notAcceptable, "Accept: \(accept) matches nothing this endpoint returns (\(offered))")
        }
        return pngQ > jsonQ ? .png : .json
    }
}

/// The query options of the patch endpoints, validated (400 on anything unknown).
struct PatchQuery {
    enum Maps: String, CaseIterable { case png, array, none }
    enum Picture: String, CaseIterable { case panel, reconstruction, mse, ssim }

    var maps = Maps.png
    var reconstruction = true
    var picture = Picture.panel
    var timeoutMilliseconds: Int?

    static let reconstructKeys: Set<String> = ["maps", "reconstruction", "image", "timeout_ms"]
    static let scoreKeys: Set<String> = ["timeout_ms"]

    /// The defaults: PNG maps, a reconstruction, the panel, the server's deadline.
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
    }

    private static func invalid(_ name: String, _ value: String, _ allowed: [String]) -> Problem {
        Problem(.badRequest, "\(name)=\(value) is not valid; use one of \(allowed.joined(separator: ", "))")
    }
}
