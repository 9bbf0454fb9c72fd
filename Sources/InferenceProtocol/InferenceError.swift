/// Why an Open Inference Protocol call failed, independent of the transport: REST answers
/// ``httpStatus`` with `{"error": message}`, gRPC the status ``grpcCode``. `message` is one readable line.
public struct InferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A malformed request: wrong shape, datatype, tensor name, parameter or contents.
        case invalidArgument
        /// No model (or version) of that name.
        case notFound
        /// More patches or bytes than the service takes in one request.
        case tooLarge
        /// The queue is full or the service is draining; retry after about `retryAfterSeconds`.
        case unavailable(retryAfterSeconds: Int)
        case deadlineExceeded
        case cancelled
        /// No or a wrong API key.
        case unauthenticated
        /// The model failed (non-finite statistics).
        case `internal`
    }

    public let kind: Kind
    public let message: String

    /// - Parameter message: made one printable line (``oneLine(_:)``): messages quote the client's names.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = Self.oneLine(message)
    }

    /// `text` as one printable line of at most ``maximumMessageLength`` characters: control characters (newlines
    /// included) written as escapes (`\n`, `\u{1B}`), so a member or tensor name a client chose can neither forge
    /// lines in a log nor swell an answer.
    static func oneLine(_ text: String) -> String {
        var line = "", kept = 0
        for scalar in text.unicodeScalars {
            if kept == maximumMessageLength {
                line += "…"
                break
            }
            kept += 1
            switch scalar {
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            default:
                if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
                    || scalar == "\u{2028}" || scalar == "\u{2029}" {
                    line += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                } else {
                    line.unicodeScalars.append(scalar)
                }
            }
        }
        return line
    }

    /// The longest message kept whole (a name is quoted whole up to about this).
    static let maximumMessageLength = 400

    public var description: String { message }

    static func invalid(_ message: String) -> InferenceError { InferenceError(.invalidArgument, message) }

    /// The HTTP status the REST binding answers (KServe v2 leaves codes to HTTP; Triton answers 400 for a bad
    /// request and 404 for an unknown model).
    public var httpStatus: Int {
        switch kind {
        case .invalidArgument: 400
        case .notFound: 404
        case .tooLarge: 413
        case .unavailable: 503
        case .deadlineExceeded: 504
        case .cancelled: 503
        case .unauthenticated: 401
        case .internal: 500
        }
    }

    /// The gRPC status code number (grpc/doc/statuscodes.md).
    public var grpcCode: Int {
        switch kind {
        case .invalidArgument: 3        // INVALID_ARGUMENT
        case .notFound: 5               // NOT_FOUND
        case .tooLarge: 8               // RESOURCE_EXHAUSTED
        case .unavailable: 14           // UNAVAILABLE
        case .deadlineExceeded: 4       // DEADLINE_EXCEEDED
        case .cancelled: 1              // CANCELLED
        case .unauthenticated: 16       // UNAUTHENTICATED
        case .internal: 13              // INTERNAL
        }
    }
}
