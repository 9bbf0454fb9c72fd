import ArgumentParser
import AutoencoderModel
import Foundation
import ImageCodecs
import InferenceService

/// `histoae reconstruct`: run the autoencoder on patches, through the engine, and write the reconstructions.
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

    @Option(help: ArgumentHelp("Also write every block's output, (N, C, H, W) float32, as <block>.npy in this folder "
                               + "(enc1 … head, output; at most \(BlockOutputs.maximumPatches) patches): for comparing "
                               + "precisions block by block.", valueName: "folder"))
    var blocks: String?

    @OptionGroup var patchOptions: PatchOptions

    @OptionGroup var engineOptions: EngineOptions

    @Argument(help: "Patch files or folders.")
    var inputs: [String]

    func run() throws {
        let network = try modelOptions.load().model
        let patches = try PatchInputs.load(inputs, options: patchOptions)
        if blocks != nil, patches.inputs.count > BlockOutputs.maximumPatches {
            throw CLIError("--blocks takes at most \(BlockOutputs.maximumPatches) patches (each holds ~12 MB of block outputs); got \(patches.inputs.count)")
        }
        let reconstruction = try reconstruct(patches.inputs, with: network)
        if let blocks { try BlockOutputFiles.write(network, inputs: patches.inputs, to: URL(fileURLWithPath: blocks)) }
        switch format {
        case .npy:
            try write(PatchArrays.npy(reconstruction), to: URL(fileURLWithPath: output))
        case .png:
            let folder = URL(fileURLWithPath: output)
            do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
                throw CLIError("\(output): cannot create folder: \(error.localizedDescription)")
            }
            let side = CNNAutoencoder3.inputSize
            for (values, name) in zip(reconstruction, patches.names) {
                let image = values.withUnsafeBufferPointer { Normalization.denormalize($0.baseAddress!, width: side, height: side) }
                let png: [UInt8]
                do { png = try PNGEncoder.encode(image) } catch { throw CLIError("\(name): \(error)") }
                try write(Data(png), to: folder.appendingPathComponent("\(name).png"))
            }
        }
        FileHandle.standardError.write(Data("reconstructed \(patches.names.count) patch\(patches.names.count == 1 ? "" : "es") → \(output)\n".utf8))
    }

    /// Requests of `--batch` patches to the engine, one after the other; reconstructions in input order.
    func reconstruct(_ inputs: [PatchInput], with network: CNNAutoencoder3) throws -> [[Float]] {
        let engine = InferenceEngine(model: network, scorer: nil, configuration: engineOptions.configuration())
        engine.start()
        var reconstruction: [[Float]] = []
        var failure: ServiceError?
        for start in stride(from: 0, to: inputs.count, by: patchOptions.batch) {
            let request = Array(inputs[start..<min(start + patchOptions.batch, inputs.count)])
            switch engine.run(inputs: request, detail: .reconstruction) {
            case .success(let outcome): reconstruction += outcome.patches.map { $0.reconstruction ?? [] }
            case .failure(let error): failure = error
            }
            if failure != nil { break }
        }
        engine.drainBlocking()
        if let failure { throw CLIError(failure.description) }
        return reconstruction
    }

    /// Writes atomically, so a failure never leaves a half-written output.
    func write(_ data: Data, to url: URL) throws {
        do { try data.write(to: url, options: .atomic) } catch {
            throw CLIError("\(url.path): cannot write: \(error.localizedDescription)")
        }
    }
}
