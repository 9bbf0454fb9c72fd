import ArgumentParser
import AutoencoderModel
import Foundation
import InferenceService

/// `histoae machine`: what this process found about the CPU and which kernels it runs — the facts a benchmark
/// names and an operator checks first.
///
/// ```sh
/// histoae machine                   # CPU, cores, instruction sets, OpenBLAS core, GEMM kernel, AMX, what bf16 runs
/// histoae machine --openblas-core   # only the OPENBLAS_CORETYPE this machine should run with (or nothing)
/// ```
struct MachineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "machine",
        abstract: "Print the CPU, its instruction sets and the kernels HistoAE runs on it.",
        discussion: """
            --openblas-core prints only the OPENBLAS_CORETYPE this machine should run with (nothing when \
            OpenBLAS's own choice is right): scripts/openblas-env.sh exports it for processes that cannot \
            re-execute themselves as histoae does, such as the test runner.
            """)

    @Flag(help: "Print only the suggested OPENBLAS_CORETYPE (empty when none is needed).")
    var openblasCore = false

    func run() throws {
        // This process re-executed itself with the suggestion already set (HistoAE.selectOpenBLASCore), so
        // the environment holds it; a value the user set wins there too.
        let core = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? MachineProbe.suggestedOpenBLASCore()
        if openblasCore {
            if let core { print(core) }
            return
        }
        let cpu = MachineProbe.cpu
        print("cpu: \(cpu.model), \(ProcessInfo.processInfo.activeProcessorCount) logical cores")
        print("instruction sets: \(cpu.instructionSets.joined(separator: " "))")
        print("OpenBLAS: \(MachineProbe.openBLASConfiguration)\(core.map { " (OPENBLAS_CORETYPE=\($0))" } ?? "")")
        print("GEMM: \(InferenceEngine.gemmDescription)")
        // What `--precision bf16` runs here: the bf16 kernel, or fp32 and why (no AVX512-BF16, or it does not pay).
        print("AMX tiles: \(ModelPrecision.amxStatus)")
        let bf16 = ModelPrecision.bf16.resolved()
        print("--precision bf16: \(bf16.fallbackReason ?? "bf16; GEMM: \(ModelPrecision.bf16.gemmDescription)")")
    }
}
