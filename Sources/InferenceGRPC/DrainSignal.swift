import Synchronization

/// Whether the endpoint has begun its graceful shutdown. grpc-swift signals every accepted RPC's cancellation
/// handle when its server starts shutting down (as it does when a client leaves or its deadline passes); an
/// inference that sees the signal while draining keeps running, so that accepted RPCs are answered.
///
/// ```swift
/// let draining = DrainSignal()
/// draining.begin()          // in the service's graceful-shutdown handler, before the server's own
/// draining.isDraining       // true
/// ```
final class DrainSignal: Sendable {
    private let draining = Atomic<Bool>(false)

    func begin() { draining.store(true, ordering: .releasing) }
    var isDraining: Bool { draining.load(ordering: .acquiring) }
}
