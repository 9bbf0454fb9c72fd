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
