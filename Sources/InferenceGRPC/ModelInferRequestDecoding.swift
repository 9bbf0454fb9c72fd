import Foundation
import InferenceProtocol

/// `ModelInferRequest` (protobuf) → ``InferenceProtocol/InferenceRequest``: only the transport's own rules are
/// checked here (where the elements travel, which typed field carries them, parameter values); the model's rules
/// (names, datatypes, shapes, limits) are ``InferenceProtocol/OpenInferenceService/plan(_:model:version:)``'s.
/// Copies every element: run it on a thread pool.
///
/// ```swift
/// let request = try ModelInferRequestDecoding.decode(message)   // then service.plan(request, model:, version:)
/// ```
enum ModelInferRequestDecoding {
    static func decode(_ message: Inference_ModelInferRequest) throws(InferenceError) -> InferenceRequest {
        let raw = message.rawInputContents
        // The protocol's rule: raw contents are all-or-nothing, one entry per input, in the inputs' order.
        guard raw.isEmpty || raw.count == message.inputs.count else {
            throw InferenceError(.invalidArgument, "raw_input_contents has \(raw.count) entries for \(message.inputs.count) inputs; give one per input, in order, or none")
        }
        var inputs: [InputTensor] = []
        inputs.reserveCapacity(message.inputs.count)
        for (index, tensor) in message.inputs.enumerated() {
            let contents: TensorContents
            if raw.isEmpty {
                contents = try typedContents(tensor)
            } else {
                guard !tensor.hasContents || isEmpty(tensor.contents) else {
                    throw InferenceError(.invalidArgument, "input '\(tensor.name)' has both contents and raw_input_contents; give one")
                }
                contents = .raw([UInt8](raw[index]))
            }
            inputs.append(InputTensor(name: tensor.name, datatype: tensor.datatype, shape: try shape(tensor.shape, of: tensor.name),
                                      parameters: try parameters(tensor.parameters, of: "input '\(tensor.name)'"),
                                      contents: contents))
        }
        // No outputs listed: every output the input gives (the protocol's default), as REST's absent `outputs`.
        var outputs: [RequestedOutput]?
        if !message.outputs.isEmpty {
            outputs = try message.outputs.map { output throws(InferenceError) in
                RequestedOutput(name: output.name, parameters: try parameters(output.parameters, of: "output '\(output.name)'"))
            }
        }
        return InferenceRequest(id: message.id.isEmpty ? nil : message.id, inputs: inputs, outputs: outputs,
                                parameters: try parameters(message.parameters, of: "the request"))
    }

    /// Dimensions as `Int`; a value beyond `Int` cannot be a real dimension and is refused by name.
    static func shape(_ dimensions: [Int64], of name: String) throws(InferenceError) -> [Int] {
        var shape: [Int] = []
        for dimension in dimensions {
            guard let value = Int(exactly: dimension) else {
                throw InferenceError(.invalidArgument, "input '\(name)' has dimension \(dimension), beyond this platform's integers")
            }
            shape.append(value)
        }
        return shape
    }

    /// `InferParameter` → ``InferenceProtocol/ParameterValue``: `uint64_param` becomes an integer when it fits
    /// `Int64` (tritonclient sends `priority` so); one with no value set is refused.
    static func parameters(_ parameters: [String: Inference_InferParameter], of owner: String) throws(InferenceError) -> [String: ParameterValue] {
        var values: [String: ParameterValue] = [:]
        for (key, parameter) in parameters {
            switch parameter.parameterChoice {
            case .boolParam(let value)?: values[key] = .bool(value)
            case .int64Param(let value)?: values[key] = .int(value)
            case .stringParam(let value)?: values[key] = .string(value)
            case .doubleParam(let value)?: values[key] = .double(value)
            case .uint64Param(let value)?:
                guard let value = Int64(exactly: value) else {
                    throw InferenceError(.invalidArgument, "parameter '\(key)' of \(owner) is \(value), beyond the largest integer HistoAE takes (\(Int64.max))")
                }
                values[key] = .int(value)
            case nil:
                throw InferenceError(.invalidArgument, "parameter '\(key)' of \(owner) has no value")
            }
        }
        return values
    }

    /// The elements of a tensor sent in typed form. The protocol carries each datatype in one field (8- to 32-bit
    /// unsigned integers in `uint_contents`, …); the elements must be in the field of the tensor's datatype.
    static func typedContents(_ tensor: Inference_ModelInferRequest.InferInputTensor) throws(InferenceError) -> TensorContents {
        let contents = tensor.contents
        let filled = TypedField.allCases.filter { $0.count(in: contents) > 0 }
        guard filled.count <= 1 else {
            throw InferenceError(.invalidArgument, "input '\(tensor.name)' has elements in \(filled.map(\.rawValue).joined(separator: " and ")); use the one field of its datatype")
        }
        guard let field = filled.first else { return .numbers([]) }  // no elements: the plan names the size expected
        if let expected = TypedField(datatype: tensor.datatype), expected != field {
            throw InferenceError(.invalidArgument, "input '\(tensor.name)' is \(tensor.datatype): its elements go in \(expected.rawValue), not \(field.rawValue)")
        }
        switch field {
        case .bool: return .numbers(contents.boolContents.map { $0 ? 1 : 0 })
        case .int: return .numbers(contents.intContents.map(Double.init))
        case .int64: return .numbers(contents.int64Contents.map(Double.init))
        case .uint: return .numbers(contents.uintContents.map(Double.init))
        case .uint64: return .numbers(contents.uint64Contents.map(Double.init))
        case .fp32: return .numbers(contents.fp32Contents.map(Double.init))
        case .fp64: return .numbers(contents.fp64Contents)
        case .bytes: return .strings(contents.bytesContents.map { [UInt8]($0) })
        }
    }

    static func isEmpty(_ contents: Inference_InferTensorContents) -> Bool {
        TypedField.allCases.allSatisfy { $0.count(in: contents) == 0 }
    }

    /// The typed fields of `InferTensorContents`, by their protocol names.
    enum TypedField: String, CaseIterable {
        case bool = "bool_contents", int = "int_contents", int64 = "int64_contents", uint = "uint_contents"
        case uint64 = "uint64_contents", fp32 = "fp32_contents", fp64 = "fp64_contents", bytes = "bytes_contents"

        /// The field the protocol carries `datatype` in; nil for FP16 / BF16 (raw only) and unknown names.
        init?(datatype: String) {
            switch TensorDatatype(rawValue: datatype) {
            case .bool?: self = .bool
            case .uint8?, .uint16?, .uint32?: self = .uint
            case .uint64?: self = .uint64
            case .int8?, .int16?, .int32?: self = .int
            case .int64?: self = .int64
            case .fp32?: self = .fp32
            case .fp64?: self = .fp64
            case .bytes?: self = .bytes
            case .fp16?, .bf16?, nil: return nil
            }
        }

        func count(in contents: Inference_InferTensorContents) -> Int {
            switch self {
            case .bool: contents.boolContents.count
            case .int: contents.intContents.count
            case .int64: contents.int64Contents.count
            case .uint: contents.uintContents.count
            case .uint64: contents.uint64Contents.count
            case .fp32: contents.fp32Contents.count
            case .fp64: contents.fp64Contents.count
            case .bytes: contents.bytesContents.count
            }
        }
    }
}
