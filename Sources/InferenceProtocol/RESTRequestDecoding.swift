import Foundation

/// Decodes the body of `POST /v2/models/{name}/infer`: a JSON inference request, optionally followed by binary
/// tensor data (the protocol's binary tensor data extension, as Triton defines it: the JSON is the first
/// `Inference-Header-Content-Length` bytes, then each input with a `binary_data_size` parameter, in order).
/// Every byte is the client's: sizes are checked before use, the JSON depth is bounded by Foundation's parser,
/// and anything unexpected is one readable ``InferenceError``.
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
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(body[0..<jsonEnd])) } catch {
            throw .invalid("the inference request is not valid JSON" + (headerLength == nil ? "" : " (its first \(jsonEnd) bytes, per Inference-Header-Content-Length)"))
        }
        guard let root = object as? [String: Any] else { throw .invalid("the inference request must be a JSON object") }
        var binary = body[jsonEnd...]
        var request = InferenceRequest(inputs: [])
        for key in root.keys where !["id", "parameters", "inputs", "outputs"].contains(key) {
            throw .invalid("unknown member '\(key)' in the inference request; it takes id, parameters, inputs, outputs")
        }
        if let id = root["id"] {
            guard let text = id as? String else { throw .invalid("id must be a string") }
            request.id = text
        }
        request.parameters = try parameters(root["parameters"], of: "the request")
        guard let inputs = root["inputs"] as? [Any] else { throw .invalid("the inference request needs an 'inputs' array") }
        for (index, item) in inputs.enumerated() {
            request.inputs.append(try input(item, index: index, binary: &binary))
        }
        guard binary.isEmpty else {
            throw .invalid("\(binary.count) bytes follow the JSON that no input's binary_data_size accounts for")
        }
        if let outputs = root["outputs"] {
            guard let list = outputs as? [Any] else { throw .invalid("outputs must be an array") }
            request.outputs = try list.enumerated().map { index, item throws(InferenceError) in
                guard let object = item as? [String: Any], let name = object["name"] as? String else {
                    throw .invalid("output \(index) must be an object with a string 'name'")
                }
                for key in object.keys where key != "name" && key != "parameters" {
                    throw .invalid("unknown member '\(key)' in output '\(name)'; it takes name, parameters")
                }
                return RequestedOutput(name: name, parameters: try parameters(object["parameters"], of: "output '\(name)'"))
            }
        }
        return request
    }

    static func input(_ item: Any, index: Int, binary: inout ArraySlice<UInt8>) throws(InferenceError) -> InputTensor {
        guard let object = item as? [String: Any] else { throw .invalid("input \(index) must be a JSON object") }
        guard let name = object["name"] as? String else { throw .invalid("input \(index) needs a string 'name'") }
        guard let datatype = object["datatype"] as? String else { throw .invalid("input '\(name)' needs a string 'datatype'") }
        for key in object.keys where !["name", "datatype", "shape", "parameters", "data"].contains(key) {
            throw .invalid("unknown member '\(key)' in input '\(name)'; it takes name, shape, datatype, parameters, data")
        }
        guard let shapeList = object["shape"] as? [Any] else { throw .invalid("input '\(name)' needs a 'shape' array") }
        let shape = try shapeList.map { dimension throws(InferenceError) -> Int in
            guard let number = dimension as? NSNumber, let value = Int(exactly: number.doubleValue), value >= 0, !isBool(number) else {
                throw .invalid("input '\(name)' shape must hold whole numbers ≥ 0")
            }
            return value
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
        var numbers: [Double] = [], strings: [[UInt8]] = []
        try flatten(data, name: name, numbers: &numbers, strings: &strings, depth: 0)
        guard numbers.isEmpty || strings.isEmpty else { throw .invalid("input '\(name)' data mixes numbers and strings") }
        let contents: TensorContents = strings.isEmpty ? .numbers(numbers) : .strings(strings)
        return InputTensor(name: name, datatype: datatype, shape: shape, parameters: parameters, contents: contents)
    }

    /// `data` row-major, flattened (the protocol allows nested arrays that follow the shape, or a flat one).
    static func flatten(_ value: Any, name: String, numbers: inout [Double], strings: inout [[UInt8]], depth: Int) throws(InferenceError) {
        if let list = value as? [Any] {
            guard depth < 8 else { throw .invalid("input '\(name)' data is nested deeper than a tensor's dimensions") }
            for element in list { try flatten(element, name: name, numbers: &numbers, strings: &strings, depth: depth + 1) }
        } else if let number = value as? NSNumber, !isBool(number) {
            numbers.append(number.doubleValue)
        } else if let text = value as? String {
            strings.append(Array(text.utf8))
        } else {
            throw .invalid("input '\(name)' data holds something that is neither a number nor a string")
        }
    }

    /// The protocol's `parameters` object: string keys, values bool, number or string.
    static func parameters(_ value: Any?, of owner: String) throws(InferenceError) -> [String: ParameterValue] {
        guard let value else { return [:] }
        guard let object = value as? [String: Any] else { throw .invalid("parameters of \(owner) must be a JSON object") }
        var out: [String: ParameterValue] = [:]
        for (key, item) in object {
            if let number = item as? NSNumber {
                if isBool(number) { out[key] = .bool(number.boolValue) }
                else if let whole = Int64(exactly: number.doubleValue), !String(describing: number).contains(".") { out[key] = .int(whole) }
                else { out[key] = .double(number.doubleValue) }
            } else if let text = item as? String {
                out[key] = .string(text)
            } else {
                throw .invalid("parameter '\(key)' of \(owner) must be a boolean, a number or a string")
            }
        }
        return out
    }

    /// JSONSerialization hands JSON booleans back as NSNumbers; tell them apart from 0 and 1.
    static func isBool(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c" || type(of: number) == type(of: NSNumber(value: true))
    }
}
