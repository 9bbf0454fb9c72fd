import Foundation

/// How the ``BatchScheduler`` forms batches and spends the machine's cores.
///
/// ```swift
/// var configuration = SchedulerConfiguration()      // workers = cores, single-threaded each
/// configuration.maxBatch = 16
/// configuration.maxDelay = .milliseconds(5)
/// ```
public struct SchedulerConfiguration: Sendable, Equatable {
    /// Most patches in one batch a worker runs.
    public var maxBatch: Int
    /// How long a worker waits for a batch to fill, counted from the oldest queued patch (Triton's
    /// `max_queue_delay`): a lone patch waits this long at most before it runs alone.
    public var maxDelay: Duration
    /// Most patches waiting in the queue; a request that would overflow it is refused at once.
    public var queueCapacity: Int
    /// Inference threads, each running whole batches with its own buffers.
    public var workers: Int
    /// OpenBLAS threads per GEMM, where the GEMMs run on OpenBLAS (no AVX-512, or `HISTOAE_GEMM=openblas`; the
    /// packed kernel runs each GEMM on its worker's thread). Workers × threads should be the machine's cores.
    public var blasThreads: Int

    public init(maxBatch: Int = 16, maxDelay: Duration = .milliseconds(5), queueCapacity: Int = 512,
                workers: Int = ProcessInfo.processInfo.activeProcessorCount, blasThreads: Int = 1) {
        self.maxBatch = maxBatch
        self.maxDelay = maxDelay
        self.queueCapacity = queueCapacity
        self.workers = workers
        self.blasThreads = blasThreads
    }

    /// Every field in its range, or a sentence saying which is not.
    public func validate() throws(ConfigurationError) {
        guard (1...256).contains(maxBatch) else { throw ConfigurationError("max batch must be in 1...256, got \(maxBatch)") }
        guard maxDelay >= .zero && maxDelay <= .seconds(10) else {
            throw ConfigurationError("max delay must be in 0...10 s, got \(maxDelay)")
        }
        guard queueCapacity >= 1 else { throw ConfigurationError("queue capacity must be at least 1, got \(queueCapacity)") }
        guard (1...256).contains(workers) else { throw ConfigurationError("workers must be in 1...256, got \(workers)") }
        guard (1...256).contains(blasThreads) else { throw ConfigurationError("threads must be in 1...256, got \(blasThreads)") }
    }
}

/// A setting out of range; `description` is one readable line.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
