import InferenceService
import NIOConcurrencyHelpers

/// What one client connection may cost the server: the bounds `histoae serve` puts on connections, header
/// sections, silences and bodies held in memory. The defaults are the values README.md documents and `--help`
/// prints; ``validate()`` holds the ranges. Each limit's crossing is answered in a fixed way (see README,
/// "Limits"): 503 + `Retry-After` for the capacity limits, 431 for a header section, 408 for a timeout, and
/// a lingering close after any answer given before the request's body was read.
///
/// ```swift
/// var limits = ConnectionLimits()
/// limits.headerTimeout = .seconds(5)        // slow-header (slowloris) clients are cut off sooner
/// try limits.validate()
/// ```
public struct ConnectionLimits: Sendable, Equatable {
    /// Open client connections; one more is answered 503 + `Retry-After` and closed.
    public var maxConnections = 256
    /// Request bodies and answers held in memory at once, across all requests; a request that would cross it
    /// gets 503. 12 bodies at the largest size (16 MiB): with the model and the queue, well inside a 1 GiB pod.
    public var maxBufferedBytes = 192 * 1024 * 1024
    /// Request line plus header section; larger: 431 and close.
    public var maxHeaderBytes = 16 * 1024
    /// Header lines in one request; more: 431 and close.
    public var maxHeaderCount = 100
    /// From a request's first byte to the end of its header section (slow-header clients); then 408 and close.
    public var headerTimeout: Duration = .seconds(10)
    /// Longest silence while a request's body is being received; then 408 and close.
    public var readTimeout: Duration = .seconds(15)
    /// A kept-alive connection with no request for this long is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// After an answer given before the body was read, how long the server reads and discards what the
    /// client still sends before closing (so a client that writes its whole body first still reads the answer).
    public var lingerTimeout: Duration = .seconds(5)

    public init() {}

    /// Every limit in range, or one sentence saying which is not.
    public func validate() throws(ConfigurationError) {
        guard (1...1_000_000).contains(maxConnections) else {
            throw ConfigurationError("max connections must be in 1...1000000, got \(maxConnections)")
        }
        guard maxBufferedBytes >= 1024 else {
            throw ConfigurationError("max buffered bytes must be at least 1024, got \(maxBufferedBytes)")
        }
        guard (1024...1_048_576).contains(maxHeaderBytes) else {
            throw ConfigurationError("max header bytes must be in 1024...1048576, got \(maxHeaderBytes)")
        }
        guard (8...10_000).contains(maxHeaderCount) else {
            throw ConfigurationError("max header count must be in 8...10000, got \(maxHeaderCount)")
        }
        for (name, value) in [("header timeout", headerTimeout), ("read timeout", readTimeout),
                              ("idle timeout", idleTimeout), ("linger timeout", lingerTimeout)]
        where value <= .zero || value > .seconds(3600) {
            throw ConfigurationError("\(name) must be in (0, 3600] s, got \(value)")
        }
    }
}

/// Open connections, shared by every connection's ``ConnectionGuard``.
final class ConnectionCounter: Sendable {
    private let count = NIOLockedValueBox(0)

    /// Counts one more connection; false (and nothing counted) when `limit` are open already.
    func open(limit: Int) -> Bool {
        count.withLockedValue { value in
            guard value < limit else { return false }
            value += 1
            return true
        }
    }

    func close() { count.withLockedValue { $0 -= 1 } }

    var current: Int { count.withLockedValue { $0 } }
}
