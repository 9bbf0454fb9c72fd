import TensorKernels

/// The weight-file contract: the PyTorch `state_dict` names and shapes of the reference module
/// (`training/histoae_training/model.py`), one entry per tensor. A file must hold exactly these floating-point
/// tensors; `*.num_batches_tracked` entries are allowed and ignored.
public enum StateDictContract {
    /// Every expected tensor name with its PyTorch shape, in the reference module's order.
    public static let entries: [(name: String, shape: [Int])] = {
        var list: [(String, [Int])] = []
        func conv(_ prefix: String, _ cIn: Int, _ cOut: Int) {
            list.append(("\(prefix).weight", [cOut, cIn, 3, 3]))
            list.append(("\(prefix).bias", [cOut]))
        }
        func batchNorm(_ prefix: String, _ c: Int) {
            for field in ["weight", "bias", "running_mean", "running_var"] { list.append(("\(prefix).\(field)", [c])) }
        }
        func attention(_ prefix: String, _ c: Int) {
            list.append(("\(prefix).mlp.0.weight", [c / 16, c, 1, 1]))
            list.append(("\(prefix).mlp.2.weight", [c, c / 16, 1, 1]))
        }
        // Encoder (docs/model.md §10): enc1…enc3 with attention, enc4 without.
        for (name, cIn, cOut, attn) in Architecture.encoder {
            conv("\(name).conv", cIn, cOut)
            batchNorm("\(name).bn", cOut)
            if attn { attention("\(name).attn", cOut) }
        }
        // Decoder (docs/model.md §11): transposed convolutions, weight (C_in, C_out, 3, 3), and fuse blocks.
        for (name, cIn, cOut) in Architecture.upsamplers {
            list.append(("\(name).weight", [cIn, cOut, 3, 3]))
            list.append(("\(name).bias", [cOut]))
        }
        for (name, cIn, cOut) in Architecture.fuses {
            conv("\(name).conv", cIn, cOut)
            batchNorm("\(name).bn", cOut)
        }
        conv(Architecture.head.name, Architecture.head.inChannels, Architecture.head.outChannels)
        return list
    }()

    /// Trainable parameters (BatchNorm running statistics excluded): 3,500,931.
    public static var parameterCount: Int {
        entries.filter { !$0.name.hasSuffix("running_mean") && !$0.name.hasSuffix("running_var") }
            .reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// Checks a weight file against the contract and reports every problem at once.
    public static func validate(_ file: SafetensorsFile) throws(ModelLoadError) {
        let expected = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.shape) })
        var problems: [ModelLoadError.Problem] = []
        for (name, shape) in entries {
            if let tensor = file.tensors[name] {
                if tensor.shape != shape { problems.append(.wrongShape(name: name, expected: shape, found: tensor.shape)) }
            } else if let other = file.otherEntries[name] {
                problems.append(.wrongDType(name: name, dtype: other.dtype))
            } else {
                problems.append(.missing(name: name, expected: shape))
            }
        }
        for name in file.tensors.keys.sorted() where expected[name] == nil {
            problems.append(.unexpected(name: name, shape: file.tensors[name]!.shape))
        }
        for name in file.otherEntries.keys.sorted() where expected[name] == nil && !name.hasSuffix(".num_batches_tracked") {
            problems.append(.unexpected(name: name, shape: file.otherEntries[name]!.shape))
        }
        if !problems.isEmpty { throw .contract(problems) }
    }
}

/// Why a weight file could not become a model.
public enum ModelLoadError: Error, Equatable, CustomStringConvertible {
    public enum Problem: Hashable, Sendable, CustomStringConvertible {
        case missing(name: String, expected: [Int])
        case unexpected(name: String, shape: [Int])
        case wrongShape(name: String, expected: [Int], found: [Int])
        case wrongDType(name: String, dtype: String)

        public var description: String {
            switch self {
            case .missing(let name, let shape): "missing tensor \(name) \(shape)"
            case .unexpected(let name, let shape): "unexpected tensor \(name) \(shape)"
            case .wrongShape(let name, let expected, let found): "tensor \(name) has shape \(found), expected \(expected)"
            case .wrongDType(let name, let dtype): "tensor \(name) has dtype \(dtype), expected a float type (F32, F16, BF16)"
            }
        }
    }

    case file(SafetensorsError)
    case contract([Problem])

    public var description: String {
        switch self {
        case .file(let error): error.description
        case .contract(let problems):
            "weights do not match CNNAutoencoder_3's state dict (\(problems.count) problem\(problems.count == 1 ? "" : "s")): "
                + problems.map(\.description).joined(separator: "; ")
        }
    }
}
