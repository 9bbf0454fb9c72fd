import ArgumentParser
import Foundation
import InferenceService

/// `--workers` and `--blas-threads`: how the engine spends the machine, the same flags and defaults for every
/// command that runs patches (``EngineConfiguration``). `--threads`, which meant workers on these commands,
/// stays one release as a deprecated alias.
struct EngineOptions: ParsableArguments {
    @Option(help: "Inference workers, each running one forward pass at a time (default: the machine's cores, \(EngineConfiguration.defaultWorkers) here).")
    var workers: Int?

    @Option(name: .customLong("blas-threads"), help: "OpenBLAS threads per GEMM, only where GEMMs run on OpenBLAS (no AVX-512, or HISTOAE_GEMM=openblas) (default 1).")
    var blasThreads: Int = 1

    @Option(name: .customLong("threads"), help: ArgumentHelp("Deprecated: use --workers.", visibility: .hidden))
    var deprecatedThreads: Int?

    func validate() throws {
        if let workers = workers ?? deprecatedThreads, !EngineConfiguration.workersRange.contains(workers) {
            throw ValidationError("--workers must be between \(EngineConfiguration.workersRange.lowerBound) and \(EngineConfiguration.workersRange.upperBound), got \(workers)")
        }
        guard EngineConfiguration.blasThreadsRange.contains(blasThreads) else {
            throw ValidationError("--blas-threads must be between 1 and \(EngineConfiguration.blasThreadsRange.upperBound), got \(blasThreads)")
        }
    }

    /// The engine's configuration; warns once on stderr when the deprecated flag was used.
    func configuration(queueCapacity: Int = EngineConfiguration.defaultQueueCapacity) -> EngineConfiguration {
        if deprecatedThreads != nil && workers == nil {
            FileHandle.standardError.write(Data("histoae: --threads is deprecated; use --workers\n".utf8))
        }
        return EngineConfiguration(workers: workers ?? deprecatedThreads ?? EngineConfiguration.defaultWorkers,
                                   blasThreads: blasThreads, queueCapacity: queueCapacity)
    }
}
