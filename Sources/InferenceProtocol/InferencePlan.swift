import ImageCodecs
import InferenceService
import Scoring

/// A request checked against the model and the service's limits: the patches to queue, the outputs to send,
/// how much the engine computes for them, and the request's own threshold and deadline. Made off the event
/// loops (it copies every input element), by ``OpenInferenceService/plan(_:model:version:)``.
///
/// ```swift
/// let plan = try service.plan(request, model: "histoae", version: nil)
/// plan.detail        // .score when only score / verdict / statistics are asked for
/// ```
public struct InferencePlan: Sendable {
    public let id: String?
    public let input: ModelSignature.InputName
    public let patches: [PatchInput]
    /// In the order the request listed them (the signature's order when it listed none).
    public let outputs: [PlannedOutput]
    public let detail: OutputDetail
    public let threshold: ThresholdChoice
    /// The request's `timeout` parameter, in milliseconds (rounded up); nil: the server's deadline.
    public let timeoutMilliseconds: Int?
    /// REST's `binary_data_output` request parameter: every output not saying otherwise is sent as binary data.
    public let binaryByDefault: Bool

    public struct PlannedOutput: Sendable {
        public let name: ModelSignature.OutputName
        /// REST's `binary_data` output parameter; nil when the output did not say.
        public let binary: Bool?
    }
}

/// The request parameters HistoAE takes, each with what it means (the refusal of any other lists them).
enum RequestParameter: String, CaseIterable {
    /// REST binary tensor data extension: send outputs as binary unless an output says otherwise.
    case binaryDataOutput = "binary_data_output"
    /// Triton's request timeout, in microseconds: the request's deadline (never beyond the server's).
    case timeout
    /// The request's own score threshold in [0, 1] (as `/v1/score?threshold=`).
    case threshold
    /// The request's own false-positive rate in [0, 1] (as `/v1/score?fpr=`).
    case fpr
}

extension InferencePlan {
    static let patchValues = 3 * ModelSignature.side * ModelSignature.side

    /// The answer's size at its worst, for `patches` patches (default: the plan's): raw elements, or JSON
    /// numbers at their longest (`-1.17549435e-38,`: 16 bytes an FP32, 25 an FP64), plus each output's header.
    public func responseBytes(raw: Bool, patches: Int? = nil) -> Int {
        let count = patches ?? self.patches.count
        return outputs.reduce(512) { total, output in
            let tensor = ModelSignature.output(output.name)
            let elements = tensor.shape.dropFirst().reduce(1, *)
            let binary = raw || (output.binary ?? binaryByDefault)
            let perElement = switch tensor.datatype {
            case .fp32: binary ? 4 : 16
            case .fp64: binary ? 8 : 25
            default: 16    // BYTES: a verdict, "not_tissue", with its length or quotes and comma
            }
            return total + 256 + count * elements * perElement
        }
    }

    init(_ request: InferenceRequest, maxPatches: Int) throws(InferenceError) {
        id = request.id
        var binary = false, timeout: Int?, thresholdValue: Double?, fprValue: Double?
        for (key, value) in request.parameters.sorted(by: { $0.key < $1.key }) {
            guard let parameter = RequestParameter(rawValue: key) else {
                throw .invalid("unsupported request parameter '\(key)'; HistoAE takes \(RequestParameter.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            switch parameter {
            case .binaryDataOutput:
                guard case .bool(let flag) = value else { throw .invalid("binary_data_output must be true or false") }
                binary = flag
            case .timeout:
                guard case .int(let microseconds) = value, microseconds >= 1 else {
                    throw .invalid("timeout must be a whole number of microseconds ≥ 1")
                }
                timeout = Int(min(microseconds / 1000 + (microseconds % 1000 == 0 ? 0 : 1), Int64(Int32.max)))
            case .threshold, .fpr:
                guard let number = value.number, number >= 0, number <= 1 else { throw .invalid("\(key) must be a number in [0, 1]") }
                if parameter == .threshold { thresholdValue = number } else { fprValue = number }
            }
        }
        switch (thresholdValue, fprValue) {
        case (nil, nil): threshold = .default
        case (let value?, nil): threshold = .threshold(value)
        case (nil, let value?): threshold = .fpr(value)
        case (.some, .some): throw .invalid("threshold and fpr say the same thing (threshold = 1 − fpr); give one of them")
        }
        binaryByDefault = binary
        timeoutMilliseconds = timeout

        guard request.inputs.count == 1, let tensor = request.inputs.first else {
            throw .invalid("the model takes exactly one input tensor, 'image' (UINT8 [N, 150, 150, 3]) or 'input' (FP32 [N, 3, 150, 150]); the request has \(request.inputs.count)")
        }
        guard let name = ModelSignature.InputName(rawValue: tensor.name) else {
            throw .invalid("unknown input '\(tensor.name)'; the model takes 'image' (UINT8 [N, 150, 150, 3]) or 'input' (FP32 [N, 3, 150, 150])")
        }
        input = name
        patches = try Self.patches(tensor, name, maxPatches: maxPatches)
        outputs = try Self.outputs(request.outputs, input: name)
        let full = outputs.contains { $0.name.needsFullPass }
        detail = name == .input ? .reconstruction : (full ? .full : .score)
    }

    /// The patches of the one input tensor, every check made before any element is copied.
    static func patches(_ tensor: InputTensor, _ name: ModelSignature.InputName, maxPatches: Int) throws(InferenceError) -> [PatchInput] {
        let expected = ModelSignature.input(name)
        guard tensor.datatype == expected.datatype.rawValue else {
            throw .invalid("input '\(tensor.name)' must be \(expected.datatype.rawValue), got \(tensor.datatype)")
        }
        let side = ModelSignature.side
        guard tensor.shape.count == 4, Array(tensor.shape.dropFirst()) == Array(expected.shape.dropFirst()), tensor.shape[0] >= 1 else {
            throw .invalid("input '\(tensor.name)' must have shape [N, \(expected.shape.dropFirst().map(String.init).joined(separator: ", "))] with N ≥ 1, got \(TensorShape.text(tensor.shape))")
        }
        let count = tensor.shape[0]
        guard count <= maxPatches else {
            throw InferenceError(.tooLarge, "\(count) patches in one request; send at most \(maxPatches) per request")
        }
        let per = patchValues, elements = count * per    // count ≤ maxPatches: no overflow
        for (key, _) in tensor.parameters where key != "binary_data_size" {
            throw .invalid("unsupported parameter '\(key)' on input '\(tensor.name)'" + (key.hasPrefix("shared_memory") ? ": HistoAE takes tensor data in the request, not in shared memory" : ""))
        }
        switch (name, tensor.contents) {
        case (.image, .raw(let bytes)):
            guard bytes.count == elements else { throw sizeMismatch(tensor, got: bytes.count, expected: elements, unit: "bytes") }
            return (0..<count).map { index in
                .image(RGBImage(width: side, height: side, pixels: Array(bytes[(index * per)..<((index + 1) * per)])))
            }
        case (.image, .numbers(let values)):
            guard values.count == elements else { throw sizeMismatch(tensor, got: values.count, expected: elements, unit: "elements") }
            var pixels = [UInt8](repeating: 0, count: elements)
            for (offset, value) in values.enumerated() {
                guard value >= 0, value <= 255, value.rounded() == value else {
                    throw .invalid("input 'image' element \(offset) is \(value); UINT8 elements are whole numbers in 0…255")
                }
                pixels[offset] = UInt8(value)
            }
            return (0..<count).map { .image(RGBImage(width: side, height: side, pixels: Array(pixels[($0 * per)..<(($0 + 1) * per)]))) }
        case (.input, .raw(let bytes)):
            guard bytes.count == elements * 4 else { throw sizeMismatch(tensor, got: bytes.count, expected: elements * 4, unit: "bytes") }
            var floats = [Float](repeating: 0, count: elements)
            floats.withUnsafeMutableBytes { target in bytes.withUnsafeBytes { target.copyMemory(from: $0) } }
            #if _endian(big)
            floats = floats.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
            #endif
            return try normalized(floats, count: count)
        case (.input, .numbers(let values)):
            guard values.count == elements else { throw sizeMismatch(tensor, got: values.count, expected: elements, unit: "elements") }
            return try normalized(values.map { Float($0) }, count: count)
        case (_, .strings):
            throw .invalid("input '\(tensor.name)' holds strings; it must be \(expected.datatype.rawValue)")
        }
    }

    /// `(N, 3, 150, 150)` floats as N patches; a non-finite element is refused (the model would answer NaN).
    static func normalized(_ floats: [Float], count: Int) throws(InferenceError) -> [PatchInput] {
        if let bad = floats.firstIndex(where: { !$0.isFinite }) {
            throw .invalid("input 'input' element \(bad) is \(floats[bad]); normalized pixels must be finite")
        }
        let per = patchValues
        return (0..<count).map { .normalized(Array(floats[($0 * per)..<(($0 + 1) * per)])) }
    }

    static func sizeMismatch(_ tensor: InputTensor, got: Int, expected: Int, unit: String) -> InferenceError {
        .invalid("input '\(tensor.name)' of shape \(TensorShape.text(tensor.shape)) needs \(expected) \(unit) of \(tensor.datatype), got \(got)")
    }

    static func outputs(_ requested: [RequestedOutput]?, input: ModelSignature.InputName) throws(InferenceError) -> [PlannedOutput] {
        guard let requested else {
            return input == .input ? [PlannedOutput(name: .reconstruction, binary: nil)]
                                   : ModelSignature.OutputName.allCases.map { PlannedOutput(name: $0, binary: nil) }
        }
        var planned: [PlannedOutput] = []
        for output in requested {
            guard let name = ModelSignature.OutputName(rawValue: output.name) else {
                throw .invalid("unknown output '\(output.name)'; the model gives \(ModelSignature.OutputName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !planned.contains(where: { $0.name == name }) else { throw .invalid("output '\(output.name)' is asked for twice") }
            if input == .input && name.needsPixels {
                throw .invalid("output '\(output.name)' needs the patch's pixels: send input 'image' (UINT8); from 'input' (normalized FP32) only 'reconstruction' is computed")
            }
            var binary: Bool?
            for (key, value) in output.parameters {
                guard key == "binary_data" else {
                    throw .invalid("unsupported parameter '\(key)' on output '\(output.name)'" + (key == "classification" ? ": the model is not a classifier" : ""))
                }
                guard case .bool(let flag) = value else { throw .invalid("binary_data must be true or false") }
                binary = flag
            }
            planned.append(PlannedOutput(name: name, binary: binary))
        }
        return planned
    }
}
