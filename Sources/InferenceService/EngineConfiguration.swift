import Foundation

/// How the ``InferenceEngine`` spends the machine: its workers, their OpenBLAS threads and its queue. The
/// defaults and ranges here are the ones `--help`, README and validation use.
///
/// Vocabulary, the same in flags, types and docs: a **worker** is one of the engine's inference threads; it
/// runs one **pass** (one forward pass over ``imagesPerPass`` images) at a time. A **request** is what a caller
/// submits at once (an HTTP request's patches, a `--batch` of the command line).
///
/// ```swift
/// var configuration = EngineConfiguration()      // a worker per core, GEMMs single-threaded
/// configuration.queueCapacity = 1024
/// try configuration.validate()
/// ```
public struct EngineConfiguration: Sendable, Equatable {
    /// Inference threads, each running whole passes with its own buffers. A lone patch on an idle engine
    /// runs its pass split across all of them.
    public var workers: Int
    /// OpenBLAS threads per GEMM, where the GEMMs run on OpenBLAS (no AVX-512, or `HISTOAE_GEMM=openblas`; the
    /// packed kernel runs each GEMM on its worker's thread). Workers × BLAS threads should be the machine's cores.
    public var blasThreads: Int
    /// Most patches waiting in the queue; a request that would overflow it is refused at once.
    public var queueCapacity: Int
    /// A wait before each pass, its patch still queued: a slower machine on demand, for tests and overload
    /// drills (queues that fill, deadlines that pass). Zero in production.
    public var passDelay: Duration = .zero

    /// Images in one forward pass, for every caller. One: on the AMD EPYC of this project's machines, 8-patch
    /// requests ran at 1.02–1.05× the speed of two-image passes (`histoae bench --batch 8`, alternating, before
    /// the engines were merged), the GEMMs see the same shapes whatever the request, and a patch's result is
    /// bit-identical alone or among others on every GEMM path (tested).
    public static let imagesPerPass = 1

    public static let defaultWorkers = ProcessInfo.processInfo.activeProcessorCount
    public static let defaultQueueCapacity = 512
    public static let workersRange = 1...256
    public static let blasThreadsRange = 1...256

    public init(workers: Int = EngineConfiguration.defaultWorkers, blasThreads: Int = 1,
                queueCapacity: Int = EngineConfiguration.defaultQueueCapacity) {
        self.workers = workers
        self.blasThreads = blasThreads
        self.queueCapacity = queueCapacity
    }

    /// Every field in its range, or a sentence saying which is not.
    public func validate() throws(ConfigurationError) {
        guard Self.workersRange.contains(workers) else {
            throw ConfigurationError("workers must be in \(Self.workersRange), got \(workers)")
        }
        guard Self.blasThreadsRange.contains(blasThreads) else {
            throw ConfigurationError("BLAS threads must be in \(Self.blasThreadsRange), got \(blasThreads)")
        }
        guard queueCapacity >= 1 else { throw ConfigurationError("queue capacity must be at least 1, got \(queueCapacity)") }
        guard passDelay >= .zero && passDelay <= .seconds(10) else {
            throw ConfigurationError("pass delay must be in 0...10 s, got \(passDelay)")
        }
    }
}

/// A setting out of range; `description` is one readable line.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
