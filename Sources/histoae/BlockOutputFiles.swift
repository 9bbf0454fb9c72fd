import AutoencoderModel
import Foundation
import InferenceService

/// `histoae reconstruct --blocks FOLDER`: every block's output for the inputs, one `<block>.npy` each
/// (AutoencoderModel's ``BlockOutputs``).
///
/// ```swift
/// try BlockOutputFiles.write(network, inputs: patches.inputs, to: URL(fileURLWithPath: "blocks"))
/// ```
enum BlockOutputFiles {
    /// - Precondition: at most ``BlockOutputs/maximumPatches`` inputs (the command refuses more before it writes
    ///   anything).
    static func write(_ network: CNNAutoencoder3, inputs: [PatchInput], to folder: URL) throws {
        let normalized = inputs.map { patch in
            var values = [Float](repeating: 0, count: PatchArrays.patchCount)
            values.withUnsafeMutableBufferPointer { patch.normalize(into: $0.baseAddress!) }
            return values
        }
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw CLIError("\(folder.path): cannot create folder: \(error.localizedDescription)")
        }
        for (block, npy) in BlockOutputs.npyFiles(network, inputs: normalized) {
            let url = folder.appendingPathComponent("\(block.rawValue).npy")
            do { try npy.write(to: url, options: .atomic) } catch {
                throw CLIError("\(url.path): cannot write: \(error.localizedDescription)")
            }
        }
    }
}
