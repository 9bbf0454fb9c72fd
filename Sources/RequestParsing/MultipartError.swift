/// Why a `multipart/form-data` body was refused. Each case reads as one sentence for a client's error detail.
public enum MultipartError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The boundary parameter is empty, longer than 70 characters or holds a character RFC 2046 does not allow.
    case invalidBoundary
    /// No `--boundary` line opens the body.
    case missingOpeningBoundary
    /// The body ends before the closing `--boundary--` (inside part `part`, 1-based).
    case truncated(part: Int)
    /// A boundary line is followed by something other than `--` or a line break.
    case malformedBoundaryLine(part: Int)
    /// A header line of part `part` is not `name: value` with a token name (e.g. a byte ≥ 0x80 in the name).
    case malformedHeader(part: Int)
    /// Part `part`'s header section is larger than the limit.
    case headerSectionTooLarge(part: Int, limit: Int)
    /// Part `part` has more header lines than the limit.
    case tooManyFields(part: Int, limit: Int)
    /// More parts than the limit.
    case tooManyParts(limit: Int)
    /// The closing boundary comes before any part.
    case noParts

    public var description: String {
        switch self {
        case .invalidBoundary:
            "the multipart boundary must be 1 to 70 characters from RFC 2046's set (letters, digits, '()+_,-./:=? )"
        case .missingOpeningBoundary: "the body does not start with the boundary line given in Content-Type"
        case .truncated(let part): "the body ends inside part \(part) (no closing boundary)"
        case .malformedBoundaryLine(let part): "the boundary line before part \(part) is not followed by a line break or '--'"
        case .malformedHeader(let part): "part \(part) has a malformed header line (expected 'Name: value' with an ASCII token name)"
        case let .headerSectionTooLarge(part, limit): "part \(part)'s header section is larger than \(limit) bytes"
        case let .tooManyFields(part, limit): "part \(part) has more than \(limit) header lines"
        case .tooManyParts(let limit): "the body has more than \(limit) parts"
        case .noParts: "the body holds no parts"
        }
    }
}
