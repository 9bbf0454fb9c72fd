import Foundation
import InferenceService
import NIOCore

/// The first handler of every client connection, on raw bytes, before the HTTP decoder: it enforces
/// ``ConnectionLimits`` where no request handler can — the connection cap, the size of a header section, the
/// header, read and idle timeouts — and closes connections the way nginx's lingering close does, so a client
/// that writes its whole body before reading (Python's `urllib`) still reads an early error answer.
///
/// It learns where requests and responses begin and end from ``RequestPhaseHandler``, which sits after the
/// HTTP codec on the same event loop. Its answers (503 at the cap, 431, 408) are written as raw HTTP/1.1
/// bytes, only when no response is in flight on the connection; otherwise it just closes.
///
/// Pipeline: `ConnectionGuard → HTTP/1 decoder/encoder → HTTP types codec → RequestPhaseHandler → … → routes`
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Why the guard closed a connection: the `reason` of `histoae_connections_closed_total`.
    enum Reason: String {
        case maxConnections = "max_connections", headerTooLarge = "header_too_large", headerTimeout = "header_timeout"
        case readTimeout = "read_timeout", idleTimeout = "idle_timeout"
    }

    private let limits: ConnectionLimits
    private let counter: ConnectionCounter
    private let metrics: ConnectionMetrics

    private var counted = false
    /// Requests whose head arrived and whose response has not ended.
    private var openRequests = 0
    /// The latest request's head arrived but its end has not.
    private var bodyOpen = false
    /// Bytes received toward the next request head, and when its first byte came.
    private var headBytes = 0
    private var headStarted = false
    /// The app asked for more bytes and none came yet (the read timeout runs only then).
    private var readPending = false
    private var timer: Scheduled<Void>?
    private var lingering = false
    private var closed = false
    /// Close requests that arrived while lingering; completed when the connection is really closed.
    private var heldClose: EventLoopPromise<Void>?

    init(limits: ConnectionLimits, counter: ConnectionCounter, metrics: ConnectionMetrics) {
        self.limits = limits
        self.counter = counter
        self.metrics = metrics
    }

    // MARK: Connection start and end

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !counted && !closed else { return }
        guard counter.open(limit: limits.maxConnections) else {
            refuse(context, .maxConnections, Problem(.serviceUnavailable,
                "this server has \(limits.maxConnections) connections open, its limit; retry shortly",
                extra: ["limit": .int(limits.maxConnections)], headers: [.retryAfter: "1"]))
            return
        }
        counted = true
        metrics.openConnections.record(counter.current)
        arm(context, limits.idleTimeout) { [unowned self] in self.timedOut(context, .idleTimeout) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        closed = true
        if counted {
            counted = false
            counter.close()
            metrics.openConnections.record(counter.current)
        }
        context.fireChannelInactive()
    }

    // MARK: Inbound bytes

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !lingering && !closed else { return }  // discarded: the answer is written, the connection is going
        readPending = false
        if bodyOpen {
            cancelTimer()  // a body is arriving: the read timeout restarts at the next read request
            context.fireChannelRead(data)
            return
        }
        // Between requests, or behind a response in flight (pipelining): these bytes start a request head.
        if openRequests == 0 && !headStarted {
            headStarted = true
            arm(context, limits.headerTimeout) { [unowned self] in self.timedOut(context, .headerTimeout) }
        }
        headBytes += unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)  // the decoder may complete the head now (``requestHeadReceived``)
        if !bodyOpen && headBytes > limits.maxHeaderBytes {
            refuse(context, .headerTooLarge, Problem(.requestHeaderFieldsTooLarge,
                "the request line and headers are larger than \(limits.maxHeaderBytes) bytes, this server's limit",
                extra: ["limit_bytes": .int(limits.maxHeaderBytes)]))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if lingering { context.read(); return }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if lingering, case ChannelEvent.inputClosed? = event as? ChannelEvent {
            finishLingering(context)  // the client has sent everything and read our answer
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if bodyOpen && !readPending && !lingering {
            readPending = true
            arm(context, limits.readTimeout) { [unowned self] in self.timedOut(context, .readTimeout) }
        }
        context.read()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, !closed else { return context.close(mode: mode, promise: promise) }
        if lingering || bodyOpen || headBytes > 0 {
            // The client may still be sending: closing now would reset the connection and lose our answer.
            if let promise {
                if let heldClose { heldClose.futureResult.cascade(to: promise) } else { heldClose = promise }
            }
            startLingering(context)
            return
        }
        context.close(mode: mode, promise: promise)
    }

    // MARK: Events from RequestPhaseHandler

    func requestHeadReceived(_ context: ChannelHandlerContext) {
        openRequests += 1
        bodyOpen = true
        headBytes = 0
        headStarted = false
        cancelTimer()
    }

    func requestEndReceived(_ context: ChannelHandlerContext) {
        bodyOpen = false
        readPending = false
        cancelTimer()
    }

    /// A request's head has arrived and its body has not ended yet.
    var isReceivingBody: Bool { bodyOpen }

    /// Whether the response about to be written must close the connection: its request's body is unread.
    var responseMustClose: Bool { bodyOpen || lingering }

    /// The response's last byte has been written to the socket.
    func responseWritten(_ context: ChannelHandlerContext) {
        openRequests = max(0, openRequests - 1)
        guard openRequests == 0, !closed else { return }
        if bodyOpen {
            startLingering(context)  // answered before the body was read (413, 415, 503, …)
        } else if !headStarted && !lingering {
            arm(context, limits.idleTimeout) { [unowned self] in self.timedOut(context, .idleTimeout) }
        }
    }

    // MARK: Refusing, timing out, lingering

    private func timedOut(_ context: ChannelHandlerContext, _ reason: Reason) {
        timer = nil
        switch reason {
        case .idleTimeout:
            metrics.closed(reason)
            context.close(mode: .all, promise: nil)
        case .headerTimeout:
            refuse(context, reason, Problem(.requestTimeout,
                "the request headers did not arrive within \(seconds(limits.headerTimeout)) s"))
        case .readTimeout:
            // The body's reader gets the error and answers 408 itself (a response may be in flight).
            metrics.closed(reason)
            context.fireErrorCaught(RequestTimeout.bodyRead(seconds: seconds(limits.readTimeout)))
        default:
            break
        }
    }

    /// Answers `problem` with raw HTTP/1.1 bytes when no response is in flight, then closes with a linger.
    private func refuse(_ context: ChannelHandlerContext, _ reason: Reason, _ problem: Problem) {
        guard !lingering && !closed else { return }
        metrics.closed(reason)
        cancelTimer()
        guard openRequests == 0 else {
            context.close(mode: .all, promise: nil)
            return
        }
        let bytes = problem.rawResponse()
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)))
            .assumeIsolated().whenComplete { [unowned self] _ in self.startLingering(context) }
    }

    private func startLingering(_ context: ChannelHandlerContext) {
        guard !lingering && !closed else { return }
        lingering = true
        cancelTimer()
        context.close(mode: .output, promise: nil)  // FIN after the answer; pending writes go first
        arm(context, limits.lingerTimeout) { [unowned self] in self.finishLingering(context) }
        context.read()
    }

    private func finishLingering(_ context: ChannelHandlerContext) {
        guard !closed else { return }
        cancelTimer()
        closed = true
        let promise = heldClose
        heldClose = nil
        context.close(mode: .all, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ delay: Duration, _ action: @escaping () -> Void) {
        cancelTimer()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { action() }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func seconds(_ duration: Duration) -> String {
        let value = duration.seconds
        return value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// A body that stopped arriving (``ConnectionLimits/readTimeout``: answered 408) or did not finish before the
/// request's deadline (504, as a deadline passing later is): thrown into the body stream.
enum RequestTimeout: Error, CustomStringConvertible {
    case bodyRead(seconds: String)
    case upload(milliseconds: Int)

    var description: String {
        switch self {
        case .bodyRead(let seconds): "no part of the request body arrived for \(seconds) s"
        case .upload(let milliseconds): "the server's deadline of \(milliseconds) ms passed while the request body was still arriving"
        }
    }
}
