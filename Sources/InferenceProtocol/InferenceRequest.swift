/// An Open Inference Protocol inference request, as any transport decodes it (REST JSON, REST binary tensor
/// data, gRPC `ModelInferRequest`), before it is checked against the model (``InferencePlan``).
public struct InferenceRequest: Sendable {
    public var id: String?
    public var inputs: [InputTensor]
    /// nil: every output the input can give (the protocol's default).
    public var outputs: [RequestedOutput]?
    public var parameters: [String: ParameterValue]

    public init(id: String? = nil, inputs: [InputTensor], outputs: [RequestedOutput]? = nil,
                parameters: [String: ParameterValue] = [:]) {
        self.id = id
        self.inputs = inputs
        self.outputs = outputs
        self.parameters = parameters
    }
}

/// One input tensor: declared name, datatype and shape, and its elements.
public struct InputTensor: Sendable {
    public var name: String
    /// As the client wrote it; ``TensorDatatype`` when known.
    public var datatype: String
    public var shape: [Int]
    public var parameters: [String: ParameterValue]
    public var contents: TensorContents

    public init(name: String, datatype: String, shape: [Int], parameters: [String: ParameterValue] = [:],
                contents: TensorContents) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
        self.parameters = parameters
        self.contents = contents
    }
}

/// A tensor's elements as they arrived.
public enum TensorContents: Sendable {
    /// Raw little-endian elements, row-major (binary tensor data, gRPC `raw_input_contents`).
    case raw([UInt8])
    /// Numbers from a JSON `data` array or a typed gRPC contents field, flattened row-major.
    case numbers([Double])
    /// Byte strings (BYTES elements).
    case strings([[UInt8]])
}

/// An output the client asked for.
public struct RequestedOutput: Sendable {
    public var name: String
    public var parameters: [String: ParameterValue]

    public init(name: String, parameters: [String: ParameterValue] = [:]) {
        self.name = name
        self.parameters = parameters
    }
}

/// A request, tensor or output parameter value (`InferParameter`).
public enum ParameterValue: Sendable, Equatable {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)

    /// The value as a number, if it is one.
    public var number: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        case .bool, .string: nil
        }
    }
}
