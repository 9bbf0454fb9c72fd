import InferenceService
import Scoring

/// An Open Inference Protocol inference response, before a transport encodes it.
public struct InferenceResponse: Sendable {
    public let modelName: String
    public let modelVersion: String
    public let id: String?
    /// The response's own parameters (the protocol allows them beside the outputs): `precision`, the arithmetic
    /// that produced the outputs (`"fp32"` or `"bf16"`, ``ModelSignature/precision``).
    public var parameters: [String: ParameterValue] = [:]
    public let outputs: [OutputTensor]
}

/// One output tensor: name, datatype, shape and elements, plus REST's choice of JSON or binary data.
public struct OutputTensor: Sendable {
    public let name: String
    public let datatype: TensorDatatype
    public let shape: [Int]
    public let data: OutputData
    /// REST: sent as binary tensor data (the output's `binary_data`, else the request's `binary_data_output`).
    public let binary: Bool
    /// Tensor parameters the response carries (`statistics` names its columns).
    public let parameters: [String: ParameterValue]
}

/// An output's elements, flattened row-major.
public enum OutputData: Sendable, Equatable {
    case fp32([Float])
    case fp64([Double])
    case bytes([[UInt8]])

    public var count: Int {
        switch self {
        case .fp32(let values): values.count
        case .fp64(let values): values.count
        case .bytes(let values): values.count
        }
    }

    /// The raw form: little-endian elements; BYTES as a 4-byte little-endian length then the bytes, per element.
    public var raw: [UInt8] {
        switch self {
        case .fp32(let values):
            var out = [UInt8](repeating: 0, count: values.count * 4)
            out.withUnsafeMutableBytes { target in
                for (index, value) in values.enumerated() { target.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: index * 4, as: UInt32.self) }
            }
            return out
        case .fp64(let values):
            var out = [UInt8](repeating: 0, count: values.count * 8)
            out.withUnsafeMutableBytes { target in
                for (index, value) in values.enumerated() { target.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: index * 8, as: UInt64.self) }
            }
            return out
        case .bytes(let values):
            var out: [UInt8] = []
            out.reserveCapacity(values.reduce(0) { $0 + 4 + $1.count })
            for value in values {
                withUnsafeBytes(of: UInt32(value.count).littleEndian) { out += $0 }
                out += value
            }
            return out
        }
    }
}

extension InferenceResponse {
    /// The outputs `plan` asked for, from the engine's outcome (already at the request's threshold).
    init(plan: InferencePlan, outcome: BatchOutcome, signature: ModelSignature) throws(InferenceError) {
        modelName = signature.name
        modelVersion = signature.version
        id = plan.id
        parameters = [Self.precisionParameter: .string(signature.precision.rawValue)]
        let patches = outcome.patches, count = patches.count, side = ModelSignature.side
        var tensors: [OutputTensor] = []
        for output in plan.outputs {
            let meta = ModelSignature.output(output.name)
            let shape = [count] + meta.shape.dropFirst()
            let data: OutputData
            var parameters: [String: ParameterValue] = [:]
            switch output.name {
            case .reconstruction:
                var values: [Float] = []
                values.reserveCapacity(count * InferencePlan.patchValues)
                for patch in patches {
                    guard let reconstruction = patch.reconstruction else { throw InferenceError(.internal, "the engine kept no reconstruction") }
                    values += reconstruction
                }
                data = .fp32(values)
            case .score:
                var values: [Double] = []
                for patch in patches { values.append(try Self.score(patch).score) }
                data = .fp64(values)
            case .verdict:
                var values: [[UInt8]] = []
                for patch in patches { values.append(Array(try Self.score(patch).verdict.rawValue.utf8)) }
                data = .bytes(values)
            case .statistics:
                var values: [Double] = []
                values.reserveCapacity(count * Statistic.allCases.count)
                for patch in patches {
                    let statistics = try Self.score(patch).statistics
                    for statistic in Statistic.allCases { values.append(statistics[statistic]) }
                }
                data = .fp64(values)
                parameters["names"] = .string(ModelSignature.statisticNames.joined(separator: ","))
            case .mseMap, .ssimMap:
                var values: [Float] = []
                values.reserveCapacity(count * side * side)
                for patch in patches {
                    guard let maps = patch.maps else { throw InferenceError(.internal, "the engine computed no error maps") }
                    // As /v1/reconstruct?maps=array writes them: Float of each Double.
                    values += (output.name == .mseMap ? maps.squaredError : maps.ssim).map { Float($0) }
                }
                data = .fp32(values)
            }
            tensors.append(OutputTensor(name: meta.name, datatype: meta.datatype, shape: shape, data: data,
                                        binary: output.binary ?? plan.binaryByDefault, parameters: parameters))
        }
        outputs = tensors
    }

    /// The response parameter naming the precision the outputs were computed in.
    public static let precisionParameter = "precision"

    private static func score(_ patch: PatchOutcome) throws(InferenceError) -> PatchScore {
        guard let score = patch.score else { throw InferenceError(.internal, "the patch was not scored") }
        return score
    }
}
