import Foundation
import InferenceService

/// The JSON the REST binding answers: metadata, errors and inference responses. An inference response whose
/// outputs are all JSON is one JSON document; with binary outputs it is the JSON (its length in the
/// `Inference-Header-Content-Length` header) followed by each binary output's raw data, in output order,
/// each output naming its `binary_data_size` (the binary tensor data extension).
///
/// ```swift
/// let (body, headerLength) = RESTResponseEncoding.inference(response)   // headerLength nil: plain JSON
/// ```
public enum RESTResponseEncoding {
    public static func inference(_ response: InferenceResponse) -> (body: [UInt8], headerLength: Int?) {
        var json: [UInt8] = []
        json.reserveCapacity(response.outputs.reduce(512) { $0 + ($1.binary ? 160 : 160 + 14 * $1.data.count) })
        json += Array(#"{"model_name":"#.utf8) + string(response.modelName)
        json += Array(#","model_version":"#.utf8) + string(response.modelVersion)
        if let id = response.id { json += Array(#","id":"#.utf8) + string(id) }
        if !response.parameters.isEmpty { json += Array(#","parameters":"#.utf8) + parametersJSON(response.parameters) }
        json += Array(#","outputs":["#.utf8)
        var binary: [[UInt8]] = []
        for (index, output) in response.outputs.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json += Array(#"{"name":"#.utf8) + string(output.name)
            json += Array(#","datatype":"#.utf8) + string(output.datatype.rawValue)
            json += Array(#","shape":["#.utf8) + Array(output.shape.map(String.init).joined(separator: ",").utf8) + [UInt8(ascii: "]")]
            var parameters = output.parameters
            if output.binary {
                let raw = output.data.raw
                parameters["binary_data_size"] = .int(Int64(raw.count))
                binary.append(raw)
            }
            if !parameters.isEmpty { json += Array(#","parameters":"#.utf8) + parametersJSON(parameters) }
            if !output.binary {
                json += Array(#","data":"#.utf8)
                appendData(output.data, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        json += Array("]}".utf8)
        guard !binary.isEmpty else { return (json, nil) }
        let headerLength = json.count
        for raw in binary { json += raw }
        return (json, headerLength)
    }

    /// `GET /v2/models/{name}`: name, versions, platform, inputs, outputs (the statistics output lists its
    /// column names under `parameters.names`).
    public static func modelMetadata(_ signature: ModelSignature) -> [UInt8] {
        func tensors(_ list: [ModelSignature.Tensor]) -> String {
            list.map { tensor in
                var text = #"{"name":\#(quoted(tensor.name)),"datatype":\#(quoted(tensor.datatype.rawValue)),"shape":[\#(tensor.shape.map(String.init).joined(separator: ","))]"#
                if tensor.name == ModelSignature.OutputName.statistics.rawValue {
                    text += #","parameters":{"names":[\#(ModelSignature.statisticNames.map(quoted).joined(separator: ","))]}"#
                }
                return text + "}"
            }.joined(separator: ",")
        }
        let text = #"{"name":\#(quoted(signature.name)),"versions":[\#(quoted(signature.version))],"platform":\#(quoted(ModelSignature.platform)),"#
            + #""inputs":[\#(tensors(ModelSignature.inputs))],"outputs":[\#(tensors(ModelSignature.outputs))]}"#
        return Array(text.utf8)
    }

    /// `GET /v2`: name, version, extensions.
    public static func serverMetadata() -> [UInt8] {
        Array((#"{"name":\#(quoted(OpenInferenceService.serverName)),"version":\#(quoted(ServiceVersion.current)),"#
            + #""extensions":[\#(OpenInferenceService.extensions.map(quoted).joined(separator: ","))]}"#).utf8)
    }

    // MARK: JSON pieces

    static func quoted(_ text: String) -> String { String(decoding: string(text), as: UTF8.self) }

    /// `text` as a JSON string literal, quotes included.
    public static func quotedJSON(_ text: String) -> String { quoted(text) }

    /// A JSON string literal (RFC 8259 §7: quote, backslash and control characters escaped).
    static func string(_ text: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    static func parametersJSON(_ parameters: [String: ParameterValue]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, (key, value)) in parameters.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += string(key) + [UInt8(ascii: ":")]
            switch value {
            case .bool(let flag): out += Array((flag ? "true" : "false").utf8)
            case .int(let number): out += Array(String(number).utf8)
            case .double(let number): appendNumber(number, to: &out)
            case .string(let text): out += string(text)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A flat `[…]`: numbers as the shortest decimal that reads back to the same bits (Swift's description,
    /// as `/v1` writes them), non-finite values as the strings `/v1` uses; BYTES as JSON strings.
    static func appendData(_ data: OutputData, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        switch data {
        case .fp32(let values):
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendNumber(value, to: &out)
            }
        case .fp64(let values):
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendNumber(value, to: &out)
            }
        case .bytes(let values):
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += string(String(decoding: value, as: UTF8.self))
            }
        }
        out.append(UInt8(ascii: "]"))
    }

    static func appendNumber<F: BinaryFloatingPoint & CustomStringConvertible>(_ value: F, to out: inout [UInt8]) {
        if value.isNaN { out += Array(#""NaN""#.utf8) }
        else if value.isInfinite { out += Array((value > 0 ? #""Infinity""# : #""-Infinity""#).utf8) }
        else {
            var text = value.description
            // `1.0` as `1`, as /v1 writes it; but `-0.0` stays, since `-0` reads back as the integer 0.
            if text.hasSuffix(".0") && !(value == 0 && value.sign == .minus) { text.removeLast(2) }
            out += text.utf8
        }
    }
}
