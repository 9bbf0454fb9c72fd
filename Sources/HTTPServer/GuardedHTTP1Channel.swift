import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 child channel with ``ConnectionGuard`` in front of the HTTP decoder and
/// ``RequestPhaseHandler`` behind it: the pipeline of ``HTTP1Channel`` plus the limits of
/// ``ConnectionLimits``. Requests are handled by Hummingbird's own loop (`handleHTTP`).
///
/// ```swift
/// let app = Application(router: router, server: GuardedHTTP1Channel.builder(limits: limits, metrics: metrics))
/// ```
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits
    let counter: ConnectionCounter
    let metrics: ConnectionMetrics

    /// A server builder for `Application(server:)`; one counter spans every connection it accepts.
    static func builder(limits: ConnectionLimits, metrics: ConnectionMetrics) -> HTTPServerBuilder {
        let counter = ConnectionCounter()
        return HTTPServerBuilder { responder in
            GuardedHTTP1Channel(responder: responder, limits: limits, counter: counter, metrics: metrics)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let connectionGuard = ConnectionGuard(limits: limits, counter: counter, metrics: metrics)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(connectionGuard)
            var decoderLimits = NIOHTTPDecoderLimitConfiguration()
            decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
            decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
            decoderLimits.maxHeaderFieldCount = limits.maxHeaderCount
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: decoderLimits)
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(RequestPhaseHandler(connectionGuard: connectionGuard, limits: limits))
            try pipeline.addHandler(ClientDisconnectHandler())
            // Hummingbird's own: on graceful shutdown, closes each connection once its response is written.
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel,
                                       configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}
