import Foundation
import Testing
import TensorKernels

/// Seeded random bytes and mutations of valid files: every input must parse or throw. A crash (the module is
/// built with `-Ounchecked`, so an unchecked size is a wild read) takes the test process down and fails the run.
@Suite("Any byte string parses or throws: safetensors and .npy")
struct WeightFileFuzzTests {
    static let iterations = 3000

    /// Flips bytes, overwrites digits (to reach the size arithmetic), truncates or extends.
    static func mutate(_ original: Data, using rng: inout SplitMix64) -> Data {
        var bytes = [UInt8](original)
        for _ in 0..<Int.random(in: 1...6, using: &rng) where !bytes.isEmpty {
            let index = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: bytes[index] ^= UInt8.random(in: 1...255, using: &rng)
            case 1: bytes[index] = Array("0123456789-,[]()".utf8).randomElement(using: &rng)!
            case 2: bytes.insert(contentsOf: Array("99999999999999999".utf8), at: index)
            default: bytes.removeLast(Int.random(in: 0...min(bytes.count, 16), using: &rng))
            }
        }
        return Data(bytes)
    }

    static let safetensorsSeed: Data = SafetensorsFile(
        tensors: ["a": Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), "b": Tensor(shape: [1], values: [7])],
        metadata: ["format": "pt"]).serialized()
    static let npySeed: Data = NPY.serialize(Tensor(shape: [2, 1, 3], values: [1, 2, 3, 4, 5, 6]))

    @Test("safetensors mutants and random bytes")
    func safetensors() {
        var rng = SplitMix64(seed: 13)
        var parsed = 0
        for i in 0..<Self.iterations {
            let input = i % 4 == 0
                ? Data((0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
                : Self.mutate(Self.safetensorsSeed, using: &rng)
            if let file = try? SafetensorsFile(bytes: input) {
                parsed += 1
                for tensor in file.tensors.values { #expect(tensor.count == tensor.shape.reduce(1, *)) }
            }
        }
        #expect(parsed > 0 && parsed < Self.iterations, "\(parsed) of \(Self.iterations) parsed")
    }

    @Test(".npy mutants and random bytes")
    func npy() {
        var rng = SplitMix64(seed: 17)
        var parsed = 0
        for i in 0..<Self.iterations {
            let input = i % 4 == 0
                ? Data([0x93] + Array("NUMPY".utf8) + (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
                : Self.mutate(Self.npySeed, using: &rng)
            if let tensor = try? NPY.read(input) {
                parsed += 1
                #expect(tensor.count == tensor.shape.reduce(1, *))
            }
        }
        #expect(parsed > 0 && parsed < Self.iterations, "\(parsed) of \(Self.iterations) parsed")
    }
}
