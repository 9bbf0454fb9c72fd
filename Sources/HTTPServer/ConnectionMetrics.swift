import Metrics

/// Connection-level metrics: `histoae_open_connections` and
/// `histoae_connections_closed_total{reason}` (a limit of ``ConnectionLimits`` closed the connection).
struct ConnectionMetrics: Sendable {
    let factory: any MetricsFactory
    let openConnections: Gauge

    init(factory: any MetricsFactory) {
        self.factory = factory
        openConnections = Gauge(label: "histoae_open_connections", factory: factory)
    }

    func closed(_ reason: ConnectionGuard.Reason) {
        Counter(label: "histoae_connections_closed_total", dimensions: [("reason", reason.rawValue)], factory: factory)
            .increment()
    }
}
