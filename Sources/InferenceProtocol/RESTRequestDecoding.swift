/// Decodes the body of `POST /v2/models/{name}/infer`: a JSON inference request, optionally followed by binary
/// tensor data (the protocol's binary tensor data extension, as Triton defines it: the JSON is the first
/// `Inference-Header-Content-Length` bytes, then each input with a `binary_data_size` parameter, in order).
/// Every byte is the client's: sizes are checked before use, the JSON is read by ``TensorJSON`` (bounded
/// depth, tensor data at about its own size in memory), and anything unexpected is one readable
/// ``InferenceError``.
///
/// ```swift
/// let request = try RESTRequestDecoding.decode(body, headerLength: 212)   // JSON + binary data
/// let request = try RESTRequestDecoding.decode(body, headerLength: nil)   // JSON only
/// ```
public enum RESTRequestDecoding {
    public static func decode(_ body: [UInt8], headerLength: Int?) throws(InferenceError) -> InferenceRequest {
        let jsonEnd = headerLength ?? body.count
        guard jsonEnd >= 0, jsonEnd <= body.count else {
            throw .invalid("Inference-Header-Content-Length is \(jsonEnd) but the body has \(body.count) bytes")
        }
        let parsed: TensorJSON
        do { parsed = try TensorJSON.parse(body[0..<jsonEnd]) } catch {
            throw .invalid("the inference request is not valid JSON: \(error.description)"
                           + (headerLength == nil ? "" : " (in its first \(jsonEnd) bytes, per Inference-Header-Content-Length)"))
        }
        guard case .object(let root) = parsed else { throw .invalid("the inference request must be a JSON object") }
        var binary = body[jsonEnd...]
        var request = InferenceRequest(inputs: [])
        for key in root.keys.sorted() where !["id", "parameters", "inputs", "outputs"].contains(key) {
            throw .invalid("unknown member '\(key)' in the inference request; it takes id, parameters, inputs, outputs")
        }
        if let id = root["id"] {
            guard case .string(let text) = id else { throw .invalid("id must be a string") }
            request.id = text
        }
        request.parameters = try parameters(root["parameters"], of: "the request")
        guard let inputs = root["inputs"].flatMap(list) else { throw .invalid("the inference request needs an 'inputs' array") }
        for (index, item) in inputs.enumerated() {
            request.inputs.append(try input(item, index: index, binary: &binary))
        }
        guard binary.isEmpty else {
            throw .invalid("\(binary.count) bytes follow the JSON that no input's binary_data_size accounts for")
        }
        if let outputs = root["outputs"] {
            guard let items = list(outputs) else { throw .invalid("outputs must be an array") }
            request.outputs = try items.enumerated().map { index, item throws(InferenceError) in
                guard case .object(let object) = item, case .string(let name)? = object["name"] else {
                    throw .invalid("output \(index) must be an object with a string 'name'")
                }
                for key in object.keys.sorted() where key != "name" && key != "parameters" {
                    throw .invalid("unknown member '\(key)' in output '\(name)'; it takes name, parameters")
                }
                return RequestedOutput(name: name, parameters: try parameters(object["parameters"], of: "output '\(name)'"))
            }
        }
        return request
    }

    /// An array's elements; an empty array reads as `.numbers([])`.
    static func list(_ value: TensorJSON) -> [TensorJSON]? {
        switch value {
        case .array(let items): items
        case .numbers(let numbers) where numbers.isEmpty: []
        case .numbers(let numbers): numbers.map { .number($0, integral: $0.rounded() == $0) }
        default: nil
        }
    }

    static func input(_ item: TensorJSON, index: Int, binary: inout ArraySlice<UInt8>) throws(InferenceError) -> InputTensor {
        guard case .object(let object) = item else { throw .invalid("input \(index) must be a JSON object") }
        guard case .string(let name)? = object["name"] else { throw .invalid("input \(index) needs a string 'name'") }
        guard case .string(let datatype)? = object["datatype"] else { throw .invalid("input '\(name)' needs a string 'datatype'") }
        for key in object.keys.sorted() where !["name", "datatype", "shape", "parameters", "data"].contains(key) {
            throw .invalid("unknown member '\(key)' in input '\(name)'; it takes name, shape, datatype, parameters, data")
        }
        guard case .numbers(let dimensions)? = object["shape"] else { throw .invalid("input '\(name)' needs a 'shape' array of whole numbers") }
        let shape = try dimensions.map { dimension throws(InferenceError) -> Int in
            guard dimension >= 0, dimension <= Double(Int32.max), dimension.rounded() == dimension else {
                throw .invalid("input '\(name)' shape must hold whole numbers ≥ 0")
            }
            return Int(dimension)
        }
        let parameters = try parameters(object["parameters"], of: "input '\(name)'")
        if let size = parameters["binary_data_size"] {
            guard object["data"] == nil else { throw .invalid("input '\(name)' has both 'data' and binary_data_size") }
            guard case .int(let count) = size, count >= 0 else { throw .invalid("input '\(name)' binary_data_size must be a whole number ≥ 0") }
            guard count <= binary.count else {
                throw .invalid("input '\(name)' binary_data_size is \(count) but only \(binary.count) bytes of binary data follow")
            }
            let bytes = Array(binary.prefix(Int(count)))
            binary = binary.dropFirst(Int(count))
            return InputTensor(name: name, datatype: datatype, shape: shape, parameters: parameters, contents: .raw(bytes))
        }
        guard let data = object["data"] else { throw .invalid("input '\(name)' has neither 'data' nor binary_data_size") }
        switch data {
        case .numbers(let numbers):
            return InputTensor(name: name, datatype: datatype, shape: shape, parameters: parameters, contents: .numbers(numbers))
        case .array(let items):
            var strings: [[UInt8]] = []
            try flattenStrings(items, name: name, into: &strings)
            return InputTensor(name: name, datatype: datatype, shape: shape, parameters: parameters, contents: .strings(strings))
        default:
            throw .invalid("input '\(name)' data must be an array")
        }
    }

    /// BYTES data: strings, in nested arrays or flat; numbers among them are refused.
    static func flattenStrings(_ items: [TensorJSON], name: String, into strings: inout [[UInt8]]) throws(InferenceError) {
        for item in items {
            switch item {
            case .string(let text): strings.append(Array(text.utf8))
            case .array(let inner): try flattenStrings(inner, name: name, into: &strings)
            case .numbers(let numbers) where numbers.isEmpty: continue
            case .number, .numbers: throw .invalid("input '\(name)' data mixes numbers and strings")
            default: throw .invalid("input '\(name)' data holds something that is neither a number nor a string")
            }
        }
    }

    /// The protocol's `parameters` object: string keys, values bool, number or string.
    static func parameters(_ value: TensorJSON?, of owner: String) throws(InferenceError) -> [String: ParameterValue] {
        guard let value else { return [:] }
        guard case .object(let object) = value else { throw .invalid("parameters of \(owner) must be a JSON object") }
        var out: [String: ParameterValue] = [:]
        for (key, item) in object {
            switch item {
            case .bool(let flag): out[key] = .bool(flag)
            case .number(let number, let integral):
                if integral, let whole = Int64(exactly: number) { out[key] = .int(whole) } else { out[key] = .double(number) }
            case .string(let text): out[key] = .string(text)
            default: throw .invalid("parameter '\(key)' of \(owner) must be a boolean, a number or a string")
            }
        }
        return out
    }
}
