import NIOConcurrencyHelpers
import NIOCore

/// Notices a client that went away while its request waits for inference: HTTP/1 connections allow
/// half-closure, so a client's close arrives as `inputClosed` (or the channel goes inactive) long before
/// the server writes. Handlers awaiting work register with ``onClose(_:)`` to cancel it.
final class ClientDisconnectHandler: ChannelDuplexHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private let state = NIOLockedValueBox<(closed: Bool, callbacks: [@Sendable () -> Void])>((false, []))

    /// Runs `work` in a task of its own, cancelled when the client of `channel` goes away or the caller is
    /// cancelled (an engine submission then drops its queued patches before compute). The connection stays
    /// reusable otherwise (keep-alive): the callback is forgotten once `work` ends.
    static func whileConnected<T: Sendable>(_ channel: any Channel,
                                            _ work: @escaping @Sendable () async -> T) async -> T {
        let task = Task { await work() }
        let watcher = try? await channel.pipeline.handler(type: ClientDisconnectHandler.self).get()
        watcher?.onClose { task.cancel() }
        defer { watcher?.clearCallbacks() }
        return await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
    }

    /// Runs `callback` once the client is gone (at once if it already is).
    func onClose(_ callback: @escaping @Sendable () -> Void) {
        let runNow = state.withLockedValue { value -> Bool in
            if value.closed { return true }
            value.callbacks.append(callback)
            return false
        }
        if runNow { callback() }
    }

    /// Forgets the callbacks of a finished request, so a keep-alive connection does not accumulate them.
    func clearCallbacks() {
        state.withLockedValue { $0.callbacks.removeAll() }
    }

    private func markClosed() {
        let callbacks = state.withLockedValue { value -> [@Sendable () -> Void] in
            value.closed = true
            defer { value.callbacks = [] }
            return value.callbacks
        }
        callbacks.forEach { $0() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed? = event as? ChannelEvent { markClosed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markClosed()
        context.fireChannelInactive()
    }
}
