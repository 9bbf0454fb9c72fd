import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Tells the connection's ``ConnectionGuard`` where requests and responses begin and end, marks a response
/// `Connection: close` when its request's body was not read, and answers a request the HTTP decoder refused
/// (header section over the limits: 431; anything else malformed: 400) as `application/problem+json`.
///
/// It sits after the HTTP codec, on the guard's event loop; the guard is its only state.
final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let connectionGuard: ConnectionGuard
    private let limits: ConnectionLimits
    /// Heads seen minus responses ended: a decoder error outside a request is answered here.
    private var requestsInFlight = 0

    init(connectionGuard: ConnectionGuard, limits: ConnectionLimits) {
        self.connectionGuard = connectionGuard
        self.limits = limits
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestsInFlight += 1
            connectionGuard.requestHeadReceived(context)
        case .body:
            break
        case .end:
            connectionGuard.requestEndReceived(context)
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, requestsInFlight == 0 else {
            context.fireErrorCaught(error)  // inside a request: its handler answers (the body stream fails)
            return
        }
        let problem = switch parserError {
        case .headerOverflow:
            Problem(.requestHeaderFieldsTooLarge,
                    "the request headers exceed this server's limits (\(limits.maxHeaderBytes) bytes, \(limits.maxHeaderCount) lines)",
                    extra: ["limit_bytes": .int(limits.maxHeaderBytes), "limit_lines": .int(limits.maxHeaderCount)])
        default:
            Problem(.badRequest, "the request is not valid HTTP/1.1 (\(parserError))")
        }
        requestsInFlight += 1  // this answer is the response in flight now
        connectionGuard.requestHeadReceived(context)  // as if a request came: the guard lingers after the answer
        write(problem.responseParts(), context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where connectionGuard.responseMustClose:
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.assumeIsolated().whenComplete { [connectionGuard] _ in
                connectionGuard.responseWritten(context)
            }
            requestsInFlight = max(0, requestsInFlight - 1)
            context.write(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }

    /// Writes a whole response from this handler (head, body, end) and flushes it.
    private func write(_ parts: [HTTPResponsePart], context: ChannelHandlerContext) {
        for part in parts { self.write(context: context, data: wrapOutboundOut(part), promise: nil) }
        context.flush()
    }
}
