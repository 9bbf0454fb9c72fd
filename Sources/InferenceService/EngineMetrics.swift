import Metrics

/// The engine's instruments, made from one swift-metrics factory (Prometheus in the server, a no-op one on
/// the command line) so several engines in one process never share global state.
///
/// Names follow Prometheus conventions; the server's `/metrics` exposes them as they are here.
public struct EngineMetrics: Sendable {
    /// Patches waiting in the queue.
    let queueDepth: Gauge
    /// Time each patch waited in the queue before its pass started.
    let queueWait: Metrics.Timer
    /// Forward pass + scoring time per pass.
    let inference: Metrics.Timer
    /// Patches computed and scored.
    let patchesScored: Counter
    /// Patches dropped before compute: their request expired or went away.
    let patchesDropped: Counter
    /// Patches refused at the door because the queue was full.
    let patchesRejected: Counter
    /// The calibrated score of every computed patch.
    let scores: Recorder

    /// Label names, also used to configure histogram buckets.
    public static let queueWaitLabel = "histoae_queue_wait_seconds"
    public static let inferenceLabel = "histoae_inference_seconds"
    public static let scoreLabel = "histoae_anomaly_score"

    public init(factory: any MetricsFactory) {
        queueDepth = Gauge(label: "histoae_queue_depth", factory: factory)
        queueWait = Metrics.Timer(label: Self.queueWaitLabel, factory: factory)
        inference = Metrics.Timer(label: Self.inferenceLabel, factory: factory)
        patchesScored = Counter(label: "histoae_patches_total", dimensions: [("outcome", "scored")], factory: factory)
        patchesDropped = Counter(label: "histoae_patches_total", dimensions: [("outcome", "dropped")], factory: factory)
        patchesRejected = Counter(label: "histoae_patches_total", dimensions: [("outcome", "rejected")], factory: factory)
        scores = Recorder(label: Self.scoreLabel, aggregate: true, factory: factory)
    }

    /// Instruments that record nothing.
    public static var none: EngineMetrics { EngineMetrics(factory: NOOPMetricsHandler.instance) }
}
