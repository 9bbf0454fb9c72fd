import ArgumentParser
import Foundation
import AutoencoderModel

/// `--threads`: inference threads, set explicitly (never left to OpenBLAS's default): that many independent
/// workers, each calling OpenBLAS single-threaded (OpenBLAS gets them all for a batch too small to split).
struct ThreadOptions: ParsableArguments {
    @Option(help: "Inference threads (default: the machine's cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
    }

    var layout: ThreadLayout { ThreadLayout(workers: threads) }
}
