import ArgumentParser
import AutoencoderModel
import Foundation
import ImageCodecs
import TensorKernels

/// `histoae reconstruct`: run the autoencoder on patches and write the reconstructions.
struct ReconstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconstruct",
        abstract: "Reconstruct 150×150 patches (PNG/JPEG files or folders, or a normalized (N, 3, 150, 150) .npy).")

    enum Format: String, ExpressibleByArgument, CaseIterable { case npy, png }

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "npy: one float32 (N, 3, 150, 150) file in [-1, 1]; png: one PNG per input in the output folder.")
    var format: Format = .npy

    @Option(help: "The .npy file (format npy) or the folder (format png) to write.")
    var output: String

    @OptionGroup var patchOptions: PatchOptions

    @OptionGroup var threading: ThreadOptions

    @Argument(help: "Patch files or folders.")
    var inputs: [String]

    func run() throws {
        let network = try modelOptions.load().model
        let patches = try PatchInputs.load(inputs, limits: patchOptions.limits)
        let reconstruction = reconstruct(patches.batch, with: network)
        switch format {
        case .npy:
            try write(NPY.serialize(reconstruction), to: URL(fileURLWithPath: output))
        case .png:
            let folder = URL(fileURLWithPath: output)
            do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
                throw CLIError("\(output): cannot create folder: \(error.localizedDescription)")
            }
            let size = CNNAutoencoder3.inputSize, per = 3 * size * size
            try reconstruction.values.withUnsafeBufferPointer { values in
                for (n, name) in patches.names.enumerated() {
                    let image = Normalization.denormalize(values.baseAddress! + n * per, width: size, height: size)
                    let png: [UInt8]
                    do { png = try PNGEncoder.encode(image) } catch { throw CLIError("\(name): \(error)") }
                    try write(Data(png), to: folder.appendingPathComponent("\(name).png"))
                }
            }
        }
        FileHandle.standardError.write(Data("reconstructed \(patches.names.count) patch\(patches.names.count == 1 ? "" : "es") → \(output)\n".utf8))
    }

    /// Forward passes in batches of `--batch` on the engine's worker threads.
    func reconstruct(_ input: Tensor, with network: CNNAutoencoder3) -> Tensor {
        let count = input.shape[0], per = input.count / max(1, count)
        var output = Tensor(zeros: input.shape)
        let engine = InferenceEngine(model: network, layout: threading.layout)
        input.values.withUnsafeBufferPointer { x in
            output.values.withUnsafeMutableBufferPointer { y in
                var first = 0
                while first < count {
                    let n = min(patchOptions.batch, count - first)
                    engine.forward(input: x.baseAddress! + first * per, count: n, output: y.baseAddress! + first * per)
                    first += n
                }
            }
        }
        return output
    }

    /// Writes atomically, so a failure never leaves a half-written output.
    func write(_ data: Data, to url: URL) throws {
        do { try data.write(to: url, options: .atomic) } catch {
            throw CLIError("\(url.path): cannot write: \(error.localizedDescription)")
        }
    }
}
