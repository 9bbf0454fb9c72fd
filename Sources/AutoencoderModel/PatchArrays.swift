import Foundation
import TensorKernels

/// `.npy` files of patches already in the model's normalized space: `(N, 3, 150, 150)` float32 (or one
/// `(3, 150, 150)` patch), the array form `histoae reconstruct` reads and writes (docs/model.md §3).
///
/// ```swift
/// let (patches, stacked) = try PatchArrays.read(Data(contentsOf: url))   // each (3, 150, 150)
/// try PatchArrays.npy(patches).write(to: output)
/// ```
public enum PatchArrays {
    /// Floats per patch, `3 × 150 × 150`.
    public static let patchCount = 3 * CNNAutoencoder3.inputSize * CNNAutoencoder3.inputSize

    /// The patches of an `.npy` file, each `(3, 150, 150)` channel-major; `stacked` is false for a file that
    /// holds one `(3, 150, 150)` patch.
    ///
    /// - Throws: a readable ``PatchArrayError`` for a malformed file or any other shape.
    public static func read(_ data: Data) throws(PatchArrayError) -> (patches: [[Float]], stacked: Bool) {
        let array: Tensor
        do { array = try NPY.read(data) } catch { throw PatchArrayError(description: "\(error)") }
        let side = CNNAutoencoder3.inputSize
        let shape = array.shape
        guard (shape.count == 4 && Array(shape[1...]) == [3, side, side]) || shape == [3, side, side] else {
            throw PatchArrayError(description: "array has shape \(shape), expected (N, 3, \(side), \(side))")
        }
        let patches = stride(from: 0, to: array.count, by: patchCount).map { Array(array.values[$0..<($0 + patchCount)]) }
        return (patches, shape.count == 4)
    }

    /// One float32 `(N, 3, 150, 150)` `.npy` file of `patches`.
    public static func npy(_ patches: [[Float]]) -> Data {
        let side = CNNAutoencoder3.inputSize
        return NPY.serialize(Tensor(shape: [patches.count, 3, side, side], values: patches.flatMap { $0 }))
    }
}

/// Why an `.npy` file is not a stack of patches; one readable line.
public struct PatchArrayError: Error, CustomStringConvertible {
    public let description: String
}
