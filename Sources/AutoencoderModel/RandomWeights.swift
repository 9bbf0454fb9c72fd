import TensorKernels

/// A seeded random state dict with the contract's names and shapes: for benchmarks and tests that need a
/// valid model but no trained one. He-style scaling keeps activations in range; BatchNorm is identity-like.
public enum RandomWeights {
    public static func stateDict(seed: UInt64) -> SafetensorsFile {
        var generator = SplitMix64(seed: seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in StateDictContract.entries {
            let count = shape.reduce(1, *)
            let values: [Float]
            if name.hasSuffix("running_var") || name.hasSuffix("bn.weight") {
                values = (0..<count).map { _ in 0.75 + 0.5 * generator.nextUniform() }
            } else if name.hasSuffix("running_mean") || name.hasSuffix("bias") {
                values = (0..<count).map { _ in 0.1 * (generator.nextUniform() - 0.5) }
            } else {
                let fanIn = Float(shape.count == 4 ? shape[1] * shape[2] * shape[3] : shape[0])
                let scale = (6 / fanIn).squareRoot()
                values = (0..<count).map { _ in scale * (generator.nextUniform() - 0.5) }
            }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        return SafetensorsFile(tensors: tensors)
    }
}

/// A tiny deterministic generator (SplitMix64), so benchmarks and tests are reproducible.
public struct SplitMix64: Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
