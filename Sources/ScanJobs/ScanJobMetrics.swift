import Metrics

/// The scan jobs' instruments, from the server's swift-metrics factory (Prometheus at `/metrics`):
/// `histoae_scan_jobs{state}` (jobs in each state now, as the database holds them),
/// `histoae_scan_jobs_finished_total{state}` (jobs that ended, by how) and `histoae_scan_tiles_total` (tiles
/// scored by scan jobs).
///
/// ```swift
/// let metrics = ScanJobMetrics(factory: prometheusFactory)
/// metrics.tilesScanned.increment(by: 16)
/// ```
public struct ScanJobMetrics: Sendable {
    let jobs: [ScanJobState: Gauge]
    let finished: [ScanJobState: Counter]
    let tilesScanned: Counter

    public init(factory: any MetricsFactory) {
        jobs = Dictionary(uniqueKeysWithValues: ScanJobState.allCases.map {
            ($0, Gauge(label: "histoae_scan_jobs", dimensions: [("state", $0.rawValue)], factory: factory))
        })
        finished = Dictionary(uniqueKeysWithValues: ScanJobState.allCases.filter(\.isFinished).map {
            ($0, Counter(label: "histoae_scan_jobs_finished_total", dimensions: [("state", $0.rawValue)], factory: factory))
        })
        tilesScanned = Counter(label: "histoae_scan_tiles_total", factory: factory)
    }

    /// Records the jobs per state.
    func record(_ counts: [ScanJobState: Int]) {
        for (state, gauge) in jobs { gauge.record(counts[state] ?? 0) }
    }

    /// Instruments that record nothing.
    public static var none: ScanJobMetrics { ScanJobMetrics(factory: NOOPMetricsHandler.instance) }
}
