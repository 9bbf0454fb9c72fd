import Foundation
import TensorKernels

/// Every block's output for a few patches, as `.npy` files — `(N, C, H, W)` float32, one per
/// ``CNNAutoencoder3/Block`` in order (`enc1` … `head`, `output`) — for measuring the drift between two precisions
/// block by block (`histoae reconstruct --blocks`, `training/scripts/evaluate_precision.py`).
///
/// A diagnostic, like `histoae bench --layers`: the forward pass with an observer, one patch per pass as the
/// engine's workers run them (so `output` holds the bits of the engine's reconstructions).
///
/// ```swift
/// for (block, npy) in BlockOutputs.npyFiles(network, inputs: normalized) {
///     try npy.write(to: folder.appendingPathComponent("\(block.rawValue).npy"))
/// }
/// ```
public enum BlockOutputs {
    /// Most patches one call takes: every patch holds ~12 MB of block outputs until the files are made.
    public static let maximumPatches = 32

    /// - Parameter inputs: patches normalized to [−1, 1] (docs/model.md §3), `(3, 150, 150)` each.
    /// - Precondition: 1 … ``maximumPatches`` inputs of ``PatchArrays/patchCount`` values.
    public static func npyFiles(_ network: CNNAutoencoder3, inputs: [[Float]]) -> [(block: CNNAutoencoder3.Block, npy: Data)] {
        precondition(!inputs.isEmpty && inputs.count <= maximumPatches
                     && inputs.allSatisfy { $0.count == PatchArrays.patchCount })
        var blocks: [CNNAutoencoder3.Block: (shape: [Int], values: [Float])] = [:]
        let workspace = Workspace()
        workspace.threads = 1
        var output = [Float](repeating: 0, count: PatchArrays.patchCount)  // (1, 3, 150, 150)
        for input in inputs {
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    network.forward(input: x.baseAddress!, count: 1, output: y.baseAddress!, workspace: workspace) { block, values, shape in
                        // One image: (C, 1, H, W) is (1, C, H, W) in memory.
                        blocks[block, default: ([inputs.count, shape.channels, shape.height, shape.width], [])]
                            .values.append(contentsOf: UnsafeBufferPointer(start: values, count: shape.count))
                    }
                }
            }
        }
        return CNNAutoencoder3.Block.allCases.compactMap { block in
            blocks[block].map { (block, NPY.serialize(Tensor(shape: $0.shape, values: $0.values))) }
        }
    }
}
