import ArgumentParser
import Foundation
import InferenceService

/// `histoae` — serve, reconstruct, score and calibrate on H&E patches with CNNAutoencoder_3, scan whole slides,
/// inspect weight files, benchmark.
@main
struct HistoAE: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "histoae",
        abstract: "CNNAutoencoder_3 for 150×150 H&E patches: reconstruction and scoring, exact to PyTorch.",
        version: ServiceVersion.current,
        subcommands: [ServeCommand.self, ReconstructCommand.self, ScoreCommand.self, ScanCommand.self, CalibrateCommand.self,
                      ModelCommand.self, BenchCommand.self, MachineCommand.self])

    static func main() async {
        selectOpenBLASCore()
        await main(nil)
    }

    /// Re-executes this process once with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to kernels far
    /// below what the CPU supports (see ``MachineProbe/suggestedOpenBLASCore()``). A value the user set wins.
    static func selectOpenBLASCore() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let core = MachineProbe.suggestedOpenBLASCore() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: carry on with OpenBLAS's own choice.
    }
}

/// A failure the command line reports as one line on stderr with exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
