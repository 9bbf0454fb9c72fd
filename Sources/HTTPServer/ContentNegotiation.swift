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
