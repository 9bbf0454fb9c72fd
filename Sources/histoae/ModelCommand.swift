import ArgumentParser
import AutoencoderModel
import Foundation
import TensorKernels

/// `histoae model --model PATH`: the parameter count and per-layer shapes of a weight file, or every problem.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Check a weight file against CNNAutoencoder_3's state dict and print its layers.")

    @Option(help: "A safetensors file with the PyTorch state dict.")
    var model: String

    func run() throws {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: model)) } catch { throw CLIError("\(model): \(error)") }
        do { try StateDictContract.validate(file) } catch { throw CLIError("\(model): \(error)") }
        var dtypes: [String: Int] = [:]
        print("CNNAutoencoder_3 weights: \(model)")
        print("parameters: \(StateDictContract.parameterCount.formatted())")
        for (name, shape) in StateDictContract.entries {
            print("  \(name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(shape.map(String.init).joined(separator: "×"))")
        }
        for (name, entry) in file.otherEntries { dtypes[entry.dtype, default: 0] += 1; _ = name }
        if !file.otherEntries.isEmpty {
            print("ignored: \(file.otherEntries.count) num_batches_tracked entries")
        }
        if !file.metadata.isEmpty {
            print("metadata: " + file.metadata.keys.sorted().map { "\($0)=\(file.metadata[$0]!)" }.joined(separator: ", "))
        }
    }
}
