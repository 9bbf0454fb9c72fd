import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the connection, whose close —
/// a client that went away — cancels the work queued for it.
public struct ServiceRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's connection.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
