import ArgumentParser
import AutoencoderModel
import Foundation
import HTTPServer
import ImageCodecs
import InferenceService
import Logging

/// `histoae serve`: the HTTP service of openapi.yaml. Every option also reads `HISTOAE_<NAME>` from the
/// environment (the flag wins), so a container is configured without a command line.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (openapi.yaml): /v1/reconstruct, /v1/score, /v1/model, /v1/scans, health, metrics.",
        discussion: """
            Every option can also be set by the environment variable shown in its help; a flag wins over the \
            environment. API keys come from HISTOAE_API_KEYS (comma-separated) or --api-keys-file (one per line, \
            '#' comments); with none, the API is open. /healthz, /readyz and /openapi.yaml never need a key; \
            /metrics does only with --metrics-require-key.

            With --grpc-port, the Open Inference Protocol (KServe v2) is served over gRPC too \
            (inference.GRPCInferenceService, as tritonclient[grpc] calls it; docs/open-inference.md): the same \
            engine, limits and API keys (metadata 'authorization: Bearer <key>'); its bound address is logged as \
            'grpc listening'.

            Scan jobs (POST /v1/scans: whole slides under --slide-root, scanned in the background while patch \
            requests keep priority in the engine) need --slide-root and --state-dir; their records survive a \
            restart, and jobs a stop interrupted are marked so.

            SIGTERM or SIGINT: stop accepting connections, answer every accepted request (at most \
            --drain-timeout-s), exit 0.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Address to bind (env HISTOAE_HOST, default \(Self.defaults.host); 0.0.0.0 for all interfaces).")
    var host: String?
    @Option(help: "Port; 0 picks a free one (env HISTOAE_PORT, default \(Self.defaults.port)).")
    var port: Int?
    @Option(name: .customLong("grpc-port"), help: "Also serve the Open Inference Protocol over gRPC (inference.GRPCInferenceService, no TLS) on this port of --host; 0 picks a free one (env HISTOAE_GRPC_PORT, default: off).")
    var grpcPort: Int?
    @Option(name: .customLong("queue-capacity"), help: "Most patches waiting; beyond it requests get 503 (env HISTOAE_QUEUE_CAPACITY, default \(Self.defaults.engine.queueCapacity)).")
    var queueCapacity: Int?
    @Option(help: "Inference workers, each running one forward pass at a time (env HISTOAE_WORKERS, default: the machine's cores, \(Self.defaults.engine.workers) here).")
    var workers: Int?
    @Option(name: .customLong("blas-threads"), help: "OpenBLAS threads per GEMM, where GEMMs run on OpenBLAS (no AVX-512 or HISTOAE_GEMM=openblas) (env HISTOAE_BLAS_THREADS, default \(Self.defaults.engine.blasThreads)).")
    var blasThreads: Int?
    @Option(name: .customLong("threads"), help: ArgumentHelp("Deprecated: use --blas-threads (env HISTOAE_THREADS: HISTOAE_BLAS_THREADS).", visibility: .hidden))
    var deprecatedThreads: Int?
    @Option(name: .customLong("max-batch"), help: ArgumentHelp("Deprecated and ignored: every worker takes one patch per pass (env HISTOAE_MAX_BATCH).", visibility: .hidden))
    var maxBatch: Int?
    @Option(name: .customLong("max-delay-ms"), help: ArgumentHelp("Deprecated and ignored: no pass waits for others to fill it (env HISTOAE_MAX_DELAY_MS).", visibility: .hidden))
    var maxDelayMilliseconds: Double?
    @Option(name: .customLong("pass-delay-ms"), help: "For tests and overload drills only: each worker waits this long before each pass, its patch still queued (env HISTOAE_PASS_DELAY_MS, default 0).")
    var passDelayMilliseconds: Double?
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body (env HISTOAE_MAX_BODY_BYTES, default \(Self.defaults.maxBodyBytes)).")
    var maxBodyBytes: Int?
    @Option(name: .customLong("max-patches"), help: "Most patches per request (env HISTOAE_MAX_PATCHES, default \(Self.defaults.maxPatchesPerRequest)).")
    var maxPatches: Int?
    @Option(name: .customLong("max-pixels"), help: ArgumentHelp("Deprecated and ignored: the patch endpoints decode only 150×150 images, checked in each image's header.", visibility: .hidden))
    var maxPixels: Int?
    @Option(name: .customLong("max-response-bytes"), help: "Largest JSON answer, charged per patch at its worst case before any work; more patches: 413 (env HISTOAE_MAX_RESPONSE_BYTES, default \(Self.defaults.maxResponseBytes)).")
    var maxResponseBytes: Int?
    @Option(name: .customLong("max-connections"), help: "Open client connections; one more gets 503 + Retry-After (env HISTOAE_MAX_CONNECTIONS, default \(Self.defaults.connectionLimits.maxConnections)).")
    var maxConnections: Int?
    @Option(name: .customLong("max-buffered-bytes"), help: "Request bodies and answers held in memory at once, all requests together; beyond it 503 + Retry-After (env HISTOAE_MAX_BUFFERED_BYTES, default \(Self.defaults.connectionLimits.maxBufferedBytes)).")
    var maxBufferedBytes: Int?
    @Option(name: .customLong("max-header-bytes"), help: "Largest request line + header section; beyond it 431 (env HISTOAE_MAX_HEADER_BYTES, default \(Self.defaults.connectionLimits.maxHeaderBytes)).")
    var maxHeaderBytes: Int?
    @Option(name: .customLong("max-header-count"), help: "Most header lines in a request; beyond it 431 (env HISTOAE_MAX_HEADER_COUNT, default \(Self.defaults.connectionLimits.maxHeaderCount)).")
    var maxHeaderCount: Int?
    @Option(name: .customLong("header-timeout-s"), help: "Seconds from a request's first byte to the end of its headers; then 408 and close (env HISTOAE_HEADER_TIMEOUT_S, default \(Self.defaults.connectionLimits.headerTimeout.components.seconds)).")
    var headerTimeoutSeconds: Double?
    @Option(name: .customLong("read-timeout-s"), help: "Longest silence, s, while a request body arrives; then 408 and close (env HISTOAE_READ_TIMEOUT_S, default \(Self.defaults.connectionLimits.readTimeout.components.seconds)).")
    var readTimeoutSeconds: Double?
    @Option(name: .customLong("idle-timeout-s"), help: "Seconds a kept-alive connection may wait for its next request (env HISTOAE_IDLE_TIMEOUT_S, default \(Self.defaults.connectionLimits.idleTimeout.components.seconds)).")
    var idleTimeoutSeconds: Double?
    @Option(name: .customLong("linger-timeout-s"), help: "After an answer given before the body was read, seconds spent reading and discarding the rest before closing (env HISTOAE_LINGER_TIMEOUT_S, default \(Self.defaults.connectionLimits.lingerTimeout.components.seconds)).")
    var lingerTimeoutSeconds: Double?
    @Option(name: .customLong("deadline-ms"), help: "Request deadline, ms from arrival; a request may ask for less with ?timeout_ms= (env HISTOAE_DEADLINE_MS, default \(Self.defaults.defaultDeadlineMilliseconds)).")
    var deadlineMilliseconds: Int?
    @Option(name: .customLong("drain-timeout-s"), help: "On SIGTERM, longest wait for accepted requests, s (env HISTOAE_DRAIN_TIMEOUT_S, default \(Self.defaults.drainTimeout.components.seconds)).")
    var drainTimeoutSeconds: Double?
    @Option(name: .customLong("codec-threads"), help: "Threads decoding uploads and encoding responses (env HISTOAE_CODEC_THREADS, default: the machine's cores).")
    var codecThreads: Int?
    @Option(name: .customLong("api-keys-file"), help: "File of API keys, one per line (env HISTOAE_API_KEYS_FILE; or HISTOAE_API_KEYS=k1,k2).")
    var apiKeysFile: String?
    @Flag(name: .customLong("metrics-require-key"), help: "Require an API key for /metrics too (env HISTOAE_METRICS_REQUIRE_KEY=1).")
    var metricsRequireKey = false
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env HISTOAE_LOG_LEVEL, default info).")
    var logLevel: String?
    @Option(name: .customLong("log-format"), help: "text or json (one object per line, for log shippers) (env HISTOAE_LOG_FORMAT, default text).")
    var logFormat: String?
    @OptionGroup(title: "Scan jobs") var scanOptions: ScanJobOptions

    /// The defaults every help text above quotes: the configuration types hold them.
    static let defaults = ServerConfiguration()

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got \(logLevel)")
        }
        if let logFormat, !["text", "json"].contains(logFormat) {
            throw ValidationError("--log-format must be text or json, got \(logFormat)")
        }
    }

    func run() async throws {
        let environment = Environment(ProcessInfo.processInfo.environment)
        let configuration = try makeConfiguration(environment)
        let level = try environment.resolve(logLevel.flatMap { Logger.Level(rawValue: $0) }, "HISTOAE_LOG_LEVEL", default: .info) {
            Logger.Level(rawValue: $0)
        }
        let format = try environment.resolve(logFormat, "HISTOAE_LOG_FORMAT", default: "text") { ["text", "json"].contains($0) ? $0 : nil }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == "json" ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let bundle = try modelOptions.load()
        let logger = Logger(label: "histoae")
        let server: HistoAEServer
        do { server = try HistoAEServer(bundle: bundle, configuration: configuration, logger: logger) } catch let error as ConfigurationError {
            throw CLIError(error.description)
        }
        logger.info("model loaded", metadata: ["model": "\(bundle.card?.name ?? "?") \(bundle.card?.version ?? "?")",
                                               "weights": "\(bundle.weightsURL.path)",
                                               "workers": "\(configuration.engine.workers)",
                                               "blas_threads": "\(configuration.engine.blasThreads)",
                                               "precision": "\(bundle.model.precision)",
                                               "gemm": "\(bundle.model.precision.gemmDescription)"])
        try await server.run { address in
            FileHandle.standardOutput.write(Data("histoae: listening on \(address)\n".utf8))
        }
        let summary = "histoae: stopped; \(server.ledger.received) requests received, \(server.ledger.answered) answered\n"
        FileHandle.standardOutput.write(Data(summary.utf8))
    }

    func makeConfiguration(_ env: Environment) throws -> ServerConfiguration {
        var c = ServerConfiguration()
        c.host = try env.resolve(host, "HISTOAE_HOST", default: c.host) { $0.isEmpty ? nil : $0 }
        c.port = try env.resolve(port, "HISTOAE_PORT", default: c.port, Int.init)
        if grpcPort != nil || env["HISTOAE_GRPC_PORT"] != nil {  // off unless one of them names a port
            c.grpcPort = try env.resolve(grpcPort, "HISTOAE_GRPC_PORT", default: 0, Int.init)
        }
        for (flag, name, value) in [("--max-batch", "HISTOAE_MAX_BATCH", maxBatch.map(String.init)),
                                    ("--max-delay-ms", "HISTOAE_MAX_DELAY_MS", maxDelayMilliseconds.map { String($0) })]
        where value != nil || env[name] != nil {
            warn("\(flag) / \(name) is deprecated and ignored: every worker takes one patch per pass, and none waits for others")
        }
        if deprecatedThreads != nil || env["HISTOAE_THREADS"] != nil {
            warn("--threads / HISTOAE_THREADS is deprecated on serve: use --blas-threads / HISTOAE_BLAS_THREADS")
        }
        c.engine.queueCapacity = try env.resolve(queueCapacity, "HISTOAE_QUEUE_CAPACITY", default: c.engine.queueCapacity, Int.init)
        c.engine.workers = try env.resolve(workers, "HISTOAE_WORKERS", default: c.engine.workers, Int.init)
        let passDelay = try env.resolve(passDelayMilliseconds, "HISTOAE_PASS_DELAY_MS", default: 0, Double.init)
        guard passDelay.isFinite, passDelay.magnitude < 1e9 else { throw CLIError("pass delay must be a number of ms, got \(passDelay)") }
        c.engine.passDelay = .microseconds(Int64(passDelay * 1000))
        let oldThreads = try env.resolve(deprecatedThreads, "HISTOAE_THREADS", default: c.engine.blasThreads, Int.init)
        c.engine.blasThreads = try env.resolve(blasThreads, "HISTOAE_BLAS_THREADS", default: oldThreads, Int.init)
        c.maxBodyBytes = try env.resolve(maxBodyBytes, "HISTOAE_MAX_BODY_BYTES", default: c.maxBodyBytes, Int.init)
        c.maxPatchesPerRequest = try env.resolve(maxPatches, "HISTOAE_MAX_PATCHES", default: c.maxPatchesPerRequest, Int.init)
        if maxPixels != nil || env["HISTOAE_MAX_PIXELS"] != nil {
            warn("--max-pixels / HISTOAE_MAX_PIXELS is deprecated and ignored: the patch endpoints decode only 150×150 images")
        }
        c.maxResponseBytes = try env.resolve(maxResponseBytes, "HISTOAE_MAX_RESPONSE_BYTES", default: c.maxResponseBytes, Int.init)
        var limits = c.connectionLimits
        limits.maxConnections = try env.resolve(maxConnections, "HISTOAE_MAX_CONNECTIONS", default: limits.maxConnections, Int.init)
        limits.maxBufferedBytes = try env.resolve(maxBufferedBytes, "HISTOAE_MAX_BUFFERED_BYTES", default: limits.maxBufferedBytes, Int.init)
        limits.maxHeaderBytes = try env.resolve(maxHeaderBytes, "HISTOAE_MAX_HEADER_BYTES", default: limits.maxHeaderBytes, Int.init)
        limits.maxHeaderCount = try env.resolve(maxHeaderCount, "HISTOAE_MAX_HEADER_COUNT", default: limits.maxHeaderCount, Int.init)
        limits.headerTimeout = try seconds(headerTimeoutSeconds, "HISTOAE_HEADER_TIMEOUT_S", default: limits.headerTimeout, env)
        limits.readTimeout = try seconds(readTimeoutSeconds, "HISTOAE_READ_TIMEOUT_S", default: limits.readTimeout, env)
        limits.idleTimeout = try seconds(idleTimeoutSeconds, "HISTOAE_IDLE_TIMEOUT_S", default: limits.idleTimeout, env)
        limits.lingerTimeout = try seconds(lingerTimeoutSeconds, "HISTOAE_LINGER_TIMEOUT_S", default: limits.lingerTimeout, env)
        c.connectionLimits = limits
        c.defaultDeadlineMilliseconds = try env.resolve(deadlineMilliseconds, "HISTOAE_DEADLINE_MS",
                                                        default: c.defaultDeadlineMilliseconds, Int.init)
        let drain = try env.resolve(drainTimeoutSeconds, "HISTOAE_DRAIN_TIMEOUT_S", default: c.drainTimeout.seconds, Double.init)
        guard drain.isFinite, drain.magnitude < 1e9 else { throw CLIError("drain timeout must be a number of seconds, got \(drain)") }
        c.drainTimeout = .milliseconds(Int64(drain * 1000))
        c.codecThreads = try env.resolve(codecThreads, "HISTOAE_CODEC_THREADS", default: c.codecThreads, Int.init)
        c.metricsRequireKey = metricsRequireKey || env.flag("HISTOAE_METRICS_REQUIRE_KEY")
        c.apiKeys = try loadAPIKeys(env)
        c.scans = try scanOptions.configuration(env)
        do { try c.validate() } catch { throw CLIError(error.description) }
        return c
    }

    /// A duration option in seconds (fractions allowed); range checks are ``ConnectionLimits/validate()``'s.
    func seconds(_ flag: Double?, _ name: String, default fallback: Duration, _ env: Environment) throws -> Duration {
        let value = try env.resolve(flag, name, default: fallback.seconds, Double.init)
        guard value.isFinite, value.magnitude < 1e9 else { throw CLIError("\(name) must be a number of seconds, got \(value)") }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    func warn(_ message: String) {
        FileHandle.standardError.write(Data("histoae: \(message)\n".utf8))
    }

    func loadAPIKeys(_ env: Environment) throws -> [String] {
        var keys: [String] = []
        if let inline = env["HISTOAE_API_KEYS"] {
            keys += inline.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let path = apiKeysFile ?? env["HISTOAE_API_KEYS_FILE"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CLIError("\(path): cannot read the API keys file")
            }
            keys += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            guard !keys.isEmpty else { throw CLIError("\(path): the API keys file holds no keys") }
        }
        return keys
    }
}

/// `HISTOAE_*` lookups: a flag's value wins, then the environment (refused with one line if it does not
/// parse), then the default.
struct Environment {
    let values: [String: String]
    init(_ values: [String: String]) { self.values = values }

    subscript(name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    func flag(_ name: String) -> Bool { ["1", "true", "yes", "on"].contains(self[name]?.lowercased() ?? "") }

    func resolve<T>(_ flag: T?, _ name: String, default fallback: T, _ parse: (String) -> T?) throws -> T {
        if let flag { return flag }
        guard let raw = self[name] else { return fallback }
        guard let value = parse(raw) else { throw CLIError("\(name)=\(raw) is not a valid value") }
        return value
    }
}
