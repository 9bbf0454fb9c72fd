import AutoencoderModel
import Foundation
import ImageCodecs
import TensorKernels

/// The inputs of `histoae reconstruct`: image files (PNG/JPEG, 150×150), folders of them, or `.npy` arrays
/// `(N, 3, 150, 150)` already normalized. Everything is validated before any output is written.
struct PatchInputs {
    /// `(N, 3, 150, 150)`, normalized to [−1, 1].
    var batch: Tensor
    /// One name per patch, for output files.
    var names: [String]

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    static func load(_ paths: [String], limits: DecodeLimits) throws -> PatchInputs {
        let size = CNNAutoencoder3.inputSize
        let per = 3 * size * size
        var values: [Float] = []
        var names: [String] = []
        for path in try expand(paths) {
            let url = URL(fileURLWithPath: path)
            let stem = url.deletingPathExtension().lastPathComponent
            let data: Data
            do { data = try Data(contentsOf: url) } catch { throw CLIError("\(path): cannot read file: \(error.localizedDescription)") }
            if url.pathExtension.lowercased() == "npy" {
                let array: Tensor
                do { array = try NPY.read(data) } catch { throw CLIError("\(path): \(error)") }
                let shape = array.shape
                guard (shape.count == 4 && Array(shape[1...]) == [3, size, size]) || shape == [3, size, size] else {
                    throw CLIError("\(path): array has shape \(shape), expected (N, 3, \(size), \(size))")
                }
                let count = array.count / per
                values += array.values
                names += count == 1 && shape.count == 3 ? [stem] : (0..<count).map { "\(stem)_\($0)" }
            } else {
                let image: RGBImage
                do { image = try ImageDecoder.decode([UInt8](data), limits: limits) } catch { throw CLIError("\(path): \(error)") }
                guard image.width == size && image.height == size else {
                    throw CLIError("\(path): image is \(image.width)×\(image.height), expected \(size)×\(size)")
                }
                let start = values.count
                values += repeatElement(0, count: per)
                values.withUnsafeMutableBufferPointer { Normalization.normalize(image, into: $0.baseAddress! + start) }
                names.append(stem)
            }
        }
        guard !names.isEmpty else { throw CLIError("no input patches given") }
        return PatchInputs(batch: Tensor(shape: [names.count, 3, size, size], values: values), names: uniqued(names))
    }

    /// Files stay as given; a folder contributes its PNG/JPEG/npy files, sorted by name.
    static func expand(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw CLIError("\(path): no such file or folder")
            }
            if isFolder.boolValue {
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += entries.sorted().filter {
                    let ext = URL(fileURLWithPath: $0).pathExtension.lowercased()
                    return imageExtensions.contains(ext) || ext == "npy"
                }.map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
            } else {
                files.append(path)
            }
        }
        return files
    }

    /// Disambiguates repeated names (`a`, `a_2`, …) so no output overwrites another.
    static func uniqued(_ names: [String]) -> [String] {
        var seen: [String: Int] = [:]
        return names.map { name in
            seen[name, default: 0] += 1
            return seen[name]! == 1 ? name : "\(name)_\(seen[name]!)"
        }
    }
}
