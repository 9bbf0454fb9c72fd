import Foundation
import InferenceService
import ScanJobs

/// Everything `histoae serve` can be told, with the defaults documented in README.md and `--help`.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 asks the kernel for a free port (the bound address is logged).
    public var port = 8080
    /// The Open Inference Protocol's gRPC endpoint (`inference.GRPCInferenceService`) on this port of `host`;
    /// nil: off. 0 asks the kernel for a free port (logged as `grpc listening`).
    public var grpcPort: Int? = nil
    /// Largest request body, checked against `Content-Length` first, then while streaming.
    public var maxBodyBytes = 16 * 1024 * 1024
    /// Most patches in one multipart request.
    public var maxPatchesPerRequest = 256
    /// Largest JSON answer, charged per patch at its worst case before any work (``ResponseBudget``):
    /// at 64 MiB, `maps=array` allows about 80 patches a request, `maps=png` about 220.
    public var maxResponseBytes = 64 * 1024 * 1024
    /// Connections, header sections, timeouts and bodies held at once.
    public var connectionLimits = ConnectionLimits()
    /// Deadline of a request that asks for none; a request may ask for a shorter one (`timeout_ms`).
    public var defaultDeadlineMilliseconds = 30_000
    /// Accepted `Authorization: Bearer` keys; empty: no authentication.
    public var apiKeys: [String] = []
    /// Whether `/metrics` needs a key too (health endpoints never do).
    public var metricsRequireKey = false
    /// How long SIGTERM waits for accepted requests before cancelling them.
    public var drainTimeout: Duration = .seconds(30)
    /// Threads for decoding uploads and encoding responses (PNG, JSON): never the event loops.
    public var codecThreads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    public var engine = EngineConfiguration()
    /// Scan jobs (`/v1/scans`): off unless a slide root is set.
    public var scans = ScanJobsConfiguration()

    public init() {}

    /// Every field in range, or one sentence saying which is not.
    public func validate() throws(ConfigurationError) {
        try engine.validate()
        guard (0...65535).contains(port) else { throw ConfigurationError("port must be in 0...65535, got \(port)") }
        if let grpcPort {
            guard (0...65535).contains(grpcPort) else { throw ConfigurationError("gRPC port must be in 0...65535, got \(grpcPort)") }
            guard grpcPort == 0 || grpcPort != port else {
                throw ConfigurationError("the gRPC port must differ from the HTTP port (\(port))")
            }
        }
        guard maxBodyBytes >= 1024 else { throw ConfigurationError("body limit must be at least 1024 bytes, got \(maxBodyBytes)") }
        guard maxPatchesPerRequest >= 1 else {
            throw ConfigurationError("max patches per request must be at least 1, got \(maxPatchesPerRequest)")
        }
        guard maxPatchesPerRequest <= engine.queueCapacity else {
            throw ConfigurationError("max patches per request (\(maxPatchesPerRequest)) must not exceed the queue capacity (\(engine.queueCapacity))")
        }
        try connectionLimits.validate()
        guard maxResponseBytes >= ResponseBudget.bytesPerPatch(query: PatchQuery(), detail: .full) else {
            throw ConfigurationError("max response bytes must be at least \(ResponseBudget.bytesPerPatch(query: PatchQuery(), detail: .full)) (one patch with maps), got \(maxResponseBytes)")
        }
        guard maxBodyBytes <= connectionLimits.maxBufferedBytes else {
            throw ConfigurationError("the body limit (\(maxBodyBytes)) must not exceed the buffered-bytes limit (\(connectionLimits.maxBufferedBytes))")
        }
        guard (1...3_600_000).contains(defaultDeadlineMilliseconds) else {
            throw ConfigurationError("deadline must be in 1...3600000 ms, got \(defaultDeadlineMilliseconds)")
        }
        guard drainTimeout >= .zero && drainTimeout <= .seconds(3600) else {
            throw ConfigurationError("drain timeout must be in 0...3600 s, got \(drainTimeout)")
        }
        guard (1...256).contains(codecThreads) else { throw ConfigurationError("codec threads must be in 1...256, got \(codecThreads)") }
        try scans.validate()
        if scans.enabled && engine.queueCapacity < ScanJobsConfiguration.leastQueueCapacity {
            throw ConfigurationError("scan jobs need a queue capacity of at least \(ScanJobsConfiguration.leastQueueCapacity) patches (one scan request), got \(engine.queueCapacity)")
        }
        if apiKeys.contains(where: { $0.isEmpty || $0.contains(where: \.isWhitespace) }) {
            throw ConfigurationError("API keys must be non-empty and contain no whitespace")
        }
    }
}
