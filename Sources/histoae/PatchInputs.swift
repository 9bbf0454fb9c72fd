import AutoencoderModel
import Foundation
import InferenceService

/// The inputs of `histoae reconstruct`: image files (PNG/JPEG, 150×150), folders of them, or `.npy` arrays
/// `(N, 3, 150, 150)` already normalized. Everything is validated before any output is written.
struct PatchInputs {
    var inputs: [PatchInput]
    /// One name per patch, for output files.
    var names: [String]

    static func load(_ paths: [String], options: PatchOptions) throws -> PatchInputs {
        var inputs: [PatchInput] = []
        var names: [String] = []
        for file in InputFile.expand(paths, extensions: InputFile.imageExtensions.union(["npy"])) {
            guard !file.missing else { throw CLIError("\(file.path): no such file or folder") }
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file.path)) } catch {
                throw CLIError("\(file.path): cannot read file: \(error.localizedDescription)")
            }
            if URL(fileURLWithPath: file.path).pathExtension.lowercased() == "npy" {
                let arrays: (patches: [[Float]], stacked: Bool)
                do { arrays = try PatchArrays.read(data) } catch { throw CLIError("\(file.path): \(error)") }
                inputs += arrays.patches.map(PatchInput.normalized)
                names += arrays.stacked ? arrays.patches.indices.map { "\(file.stem)_\($0)" } : [file.stem]
            } else {
                do { inputs.append(.image(try PatchDecoding.decode([UInt8](data), limits: options.limits))) } catch {
                    throw CLIError("\(file.path): \(error)")
                }
                names.append(file.stem)
            }
        }
        guard !names.isEmpty else { throw CLIError("no input patches given") }
        return PatchInputs(inputs: inputs, names: InputFile.uniqued(names))
    }
}
