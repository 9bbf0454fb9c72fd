import AutoencoderModel
import Foundation
import InferenceService
import TensorKernels

/// `histoae reconstruct --blocks FOLDER`: every block's output for the inputs, one `<block>.npy` each —
/// `(N, C, H, W)` float32 in the order of ``CNNAutoencoder3/Block`` (`enc1.npy` … `head.npy`, `output.npy`) — so that
/// the drift between two precisions can be measured block by block (`training/scripts/evaluate_precision.py`).
///
/// A diagnostic, like `bench --layers`: it runs the model's forward pass directly, with an observer, one patch per
/// pass as the engine's workers run them (so `output.npy` holds the bits of the engine's reconstructions).
///
/// ```swift
/// try BlockOutputs.write(network, inputs: patches.inputs, to: URL(fileURLWithPath: "blocks"))
/// ```
enum BlockOutputs {
    /// Most patches one call takes: every patch holds ~12 MB of block outputs until the files are written.
    static let maximumPatches = 32

    /// - Precondition: at most ``maximumPatches`` inputs (the command refuses more before it writes anything).
    static func write(_ network: CNNAutoencoder3, inputs: [PatchInput], to folder: URL) throws {
        precondition(inputs.count <= maximumPatches)
        let side = CNNAutoencoder3.inputSize, per = 3 * side * side
        var blocks: [CNNAutoencoder3.Block: (shape: [Int], values: [Float])] = [:]
        let workspace = Workspace()
        workspace.threads = 1
        // (1, 3, 150, 150) normalized input and reconstruction.
        var input = [Float](repeating: 0, count: per), output = input
        for patch in inputs {
            switch patch {
            case .image(let image): input.withUnsafeMutableBufferPointer { Normalization.normalize(image, into: $0.baseAddress!) }
            case .normalized(let values): input = values
            }
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    network.forward(input: x.baseAddress!, count: 1, output: y.baseAddress!, workspace: workspace) { block, values, shape in
                        // One image: (C, 1, H, W) is (1, C, H, W) in memory.
                        blocks[block, default: ([0, shape.channels, shape.height, shape.width], [])]
                            .values.append(contentsOf: UnsafeBufferPointer(start: values, count: shape.count))
                    }
                }
            }
        }
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw CLIError("\(folder.path): cannot create folder: \(error.localizedDescription)")
        }
        for block in CNNAutoencoder3.Block.allCases {
            guard var (shape, values) = blocks[block] else { continue }
            shape[0] = inputs.count
            let url = folder.appendingPathComponent("\(block.rawValue).npy")
            do { try NPY.serialize(Tensor(shape: shape, values: values)).write(to: url, options: .atomic) } catch {
                throw CLIError("\(url.path): cannot write: \(error.localizedDescription)")
            }
        }
    }
}
