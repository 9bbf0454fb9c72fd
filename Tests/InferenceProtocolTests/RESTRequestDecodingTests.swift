import Foundation
@testable import InferenceProtocol
import Testing

/// The REST body parser: JSON tensors (nested or flat), binary tensor data after the JSON, and one readable
/// error for everything else.
struct RESTRequestDecodingTests {
    static func body(_ json: String, binary: [UInt8] = []) -> ([UInt8], Int?) {
        let header = Array(json.utf8)
        return (header + binary, binary.isEmpty ? nil : header.count)
    }

    static func refusal(_ json: String, binary: [UInt8] = [], headerLength: Int? = -2) -> String? {
        let (bytes, length) = body(json, binary: binary)
        do { _ = try RESTRequestDecoding.decode(bytes, headerLength: headerLength == -2 ? length : headerLength) } catch {
            #expect(error.kind == .invalidArgument && !error.message.contains("\n"))
            return error.message
        }
        return nil
    }

    @Test func nestedAndFlatJSONDataGiveTheSameElementsInRowMajorOrder() throws {
        let nested = #"{"id":"r1","inputs":[{"name":"image","datatype":"UINT8","shape":[1,2,2,1],"data":[[[[1],[2]],[[3],[4]]]]}],"#
            + #""outputs":[{"name":"score","parameters":{"binary_data":true}}],"parameters":{"timeout":1500,"fpr":0.01,"binary_data_output":false}}"#
        let flat = #"{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,2,2,1],"data":[1,2,3,4]}]}"#
        let a = try RESTRequestDecoding.decode(Array(nested.utf8), headerLength: nil)
        let b = try RESTRequestDecoding.decode(Array(flat.utf8), headerLength: nil)
        guard case .numbers(let x) = a.inputs[0].contents, case .numbers(let y) = b.inputs[0].contents else {
            Issue.record("expected numbers"); return
        }
        #expect(x == [1, 2, 3, 4] && x == y)
        #expect(a.id == "r1" && b.id == nil && b.outputs == nil)
        #expect(a.inputs[0].shape == [1, 2, 2, 1] && a.inputs[0].datatype == "UINT8")
        #expect(a.outputs?.map(\.name) == ["score"] && a.outputs?[0].parameters["binary_data"] == .bool(true))
        #expect(a.parameters["timeout"] == .int(1500) && a.parameters["fpr"] == .double(0.01))
        #expect(a.parameters["binary_data_output"] == .bool(false))
    }

    @Test func binaryTensorDataFollowsTheJSONInInputOrder() throws {
        let json = #"{"inputs":[{"name":"a","datatype":"UINT8","shape":[3],"parameters":{"binary_data_size":3}},"#
            + #"{"name":"b","datatype":"UINT8","shape":[2],"parameters":{"binary_data_size":2}}]}"#
        let (bytes, length) = Self.body(json, binary: [1, 2, 3, 9, 8])
        let request = try RESTRequestDecoding.decode(bytes, headerLength: length)
        guard case .raw(let a) = request.inputs[0].contents, case .raw(let b) = request.inputs[1].contents else {
            Issue.record("expected raw"); return
        }
        #expect(a == [1, 2, 3] && b == [9, 8])
    }

    @Test func malformedBodiesAreRefusedWithOneLine() {
        let input = #"{"name":"image","datatype":"UINT8","shape":[1],"parameters":{"binary_data_size":4}}"#
        #expect(Self.refusal(#"{"inputs":[\#(input)]}"#, binary: [1, 2])?.contains("only 2 bytes") == true)
        #expect(Self.refusal(#"{"inputs":[\#(input)]}"#, binary: [1, 2, 3, 4, 5])?.contains("1 bytes follow") == true)
        #expect(Self.refusal(#"{"inputs":[]}"#, headerLength: 99)?.contains("Inference-Header-Content-Length is 99") == true)
        #expect(Self.refusal(#"{"inputs":[}"#)?.contains("not valid JSON") == true)
        #expect(Self.refusal(#"[1,2]"#)?.contains("JSON object") == true)
        #expect(Self.refusal(#"{"inputs":[],"extra":1}"#)?.contains("unknown member 'extra'") == true)
        #expect(Self.refusal(#"{"outputs":[]}"#)?.contains("'inputs'") == true)
        #expect(Self.refusal(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[-1],"data":[1]}]}"#)?.contains("shape") == true)
        #expect(Self.refusal(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[1.5],"data":[1]}]}"#)?.contains("shape") == true)
        #expect(Self.refusal(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[true],"data":[1]}]}"#)?.contains("shape") == true)
        #expect(Self.refusal(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[2],"data":[1,"a"]}]}"#)?.contains("mixes") == true)
        #expect(Self.refusal(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[1],"data":[null]}]}"#)?.contains("neither") == true)
        #expect(Self.refusal(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[1]}]}"#)?.contains("neither 'data'") == true)
        #expect(Self.refusal(#"{"inputs":[],"parameters":{"x":[1]}}"#)?.contains("parameter 'x'") == true)
        #expect(Self.refusal(#"{"inputs":[],"outputs":[{"nom":"score"}]}"#)?.contains("output 0") == true)
    }

    /// Found by the infer-request fuzz target (Fuzz/regressions/infer-request): a member name with an escaped
    /// newline was quoted into the message raw.
    @Test func namesTheClientChoseStayOnOneLineInMessages() {
        let message = Self.refusal(#"{"inputs":[],"a\nb\u0007c\u2028":1}"#)
        #expect(message?.contains(#"unknown member 'a\nb\u{7}c\u{2028}'"#) == true, "\(message ?? "accepted")")
        let long = String(repeating: "x", count: 100_000)
        let refusal = Self.refusal(#"{"inputs":[],"\#(long)":1}"#)
        #expect((refusal?.count ?? .max) <= 401 && refusal?.hasSuffix("…") == true)
        #expect(!(message ?? "\n").contains { $0.isNewline })
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Self.refusal(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[1],"data":\#(deep)}]}"#) != nil)
        let nested = String(repeating: "[", count: 40) + "1" + String(repeating: "]", count: 40)
        #expect(Self.refusal(#"{"inputs":[{"name":"image","datatype":"UINT8","shape":[1],"data":\#(nested)}]}"#)?.contains("nested deeper") == true)
    }
}

/// The JSON reader: strict grammar, tensor data flattened at its own size.
struct TensorJSONTests {
    static func parse(_ text: String) throws -> TensorJSON { try TensorJSON.parse(Array(text.utf8)[...]) }

    @Test func numberArraysAtAnyDepthAreOneFlatBuffer() throws {
        #expect(try Self.parse("[[1, 2], [3, -4.5e1]]") == .numbers([1, 2, 3, -45]))
        #expect(try Self.parse("[]") == .numbers([]))
        #expect(try Self.parse(#"[1, "a"]"#) == .array([.number(1, integral: true), .string("a")]))
        #expect(try Self.parse(#"{"a": 12345678901234567, "b": 0.5, "c": -0}"#)
                == .object(["a": .number(12345678901234567, integral: true), "b": .number(0.5, integral: false), "c": .number(0, integral: true)]))
        #expect(try Self.parse(#""\u00e9\ud83d\ude00\n\"""#) == .string("é😀\n\""))
    }

    @Test func everythingJSONForbidsIsRefused() {
        for text in ["01", "1.", ".5", "-", "1e", "+1", "NaN", "Infinity", "1e400", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":1,}",
                     "{\"a\":1,\"a\":2}", "\"\u{01}\"", "\"\\x\"", "\"\\ud800\"", "tru", "nul", "[1] 2", "", "[", "\"abc"] {
            #expect(throws: TensorJSON.SyntaxError.self, "\(text.debugDescription)") { _ = try Self.parse(text) }
        }
        #expect(throws: TensorJSON.SyntaxError.self) { _ = try TensorJSON.parse([0x22, 0xFF, 0x22][...]) }   // not UTF-8
    }

    @Test func aSixteenMegabyteBodyOfPixelsCostsAboutItsOwnSize() throws {
        // 4 M elements: 32 MB as Doubles (Foundation's reader took 420 MB). Checked by the count and the
        // buffer's capacity, not by the process's memory, which other tests share.
        let text = "[" + Array(repeating: "255", count: 4_000_000).joined(separator: ",") + "]"
        guard case .numbers(let values) = try Self.parse(text) else { Issue.record("expected numbers"); return }
        #expect(values.count == 4_000_000 && values.allSatisfy { $0 == 255 } && values.capacity < 8_000_000)
    }
}
