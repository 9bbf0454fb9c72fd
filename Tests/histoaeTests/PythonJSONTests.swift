import Foundation
@testable import histoae
import Testing

/// The card writer of `histoae calibrate` speaks Python's JSON: the expected texts below are what CPython 3
/// printed for the same values (`repr(x)`, `json.dumps(…, sort_keys=True, separators=(",", ":"))`), so a
/// Swift-written block hashes to the digest `stats.calibration_digest` computes.
struct PythonJSONTests {
    @Test("floats as Python's repr", arguments: [
        (0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1.0"), (-1.5, "-1.5"), (0.1, "0.1"), (1e-05, "1e-05"), (0.0001, "0.0001"),
        (0.00012345, "0.00012345"), (1e16, "1e+16"), (1e15, "1000000000000000.0"), (123456789.125, "123456789.125"),
        (1.2345678901234567e17, "1.2345678901234566e+17"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.15, "0.15"), (2.5e-05, "2.5e-05"), (-3.3e-07, "-3.3e-07"), (9007199254740993.0, "9007199254740992.0"),
        (1.0 / 3.0, "0.3333333333333333"), (100.0, "100.0"), (1e22, "1e+22"), (1e-310, "1e-310"),
    ])
    func floats(_ value: Double, _ python: String) {
        #expect(PythonJSON.float(value) == python)
    }

    @Test func canonicalSortsKeysAndEscapesNonASCII() {
        let value = OrderedJSON.object([
            .init(key: "b", value: .array([.double(1), .object([.init(key: "é", value: .string("a\"\\\n\u{01}\u{2028}𝄞"))])])),
            .init(key: "a", value: .null), .init(key: "B", value: .bool(true)),
        ])
        #expect(PythonJSON.canonical(value) == #"{"B":true,"a":null,"b":[1.0,{"\u00e9":"a\"\\\n\u0001\u2028\ud834\udd1e"}]}"#)
    }

    @Test func prettyIsDumpsJSON() throws {
        let text = """
            {"name": "m", "list": [1, 2.50, "x"], "nested": {"deep": [{"a": 1e-06}], "empty": {}, "none": []}, "é": "ü"}
            """
        let value = try OrderedJSON.parse(Array(text.utf8))
        #expect(PythonJSON.pretty(value) == """
            {
              "name": "m",
              "list": [1, 2.50, "x"],
              "nested": {
                "deep": [
                  {
                    "a": 1e-06
                  }
                ],
                "empty": {},
                "none": []
              },
              "é": "ü"
            }
            """)
    }

    @Test("the parser refuses what RFC 8259 refuses", arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "1e", "\"\\x\"", "\"a\u{01}\"", "{\"a\":1,\"a\":2}", "[1] x",
        "\"\\ud800\"", "nul", String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func refuses(_ text: String) {
        #expect(throws: OrderedJSON.ParseError.self) { try OrderedJSON.parse(Array(text.utf8)) }
    }

    @Test func editKeepsOrderAndNumbers() throws {
        var card = try OrderedJSON.parse(Array(#"{"version": "1.0.0", "weights": {"file": "w.safetensors", "bytes": 7.0e3}, "x": -0}"#.utf8))
        card["version"] = .string("1.0.0+cal.abcd1234")
        card["weights"]?["file"] = .string("model.safetensors")
        card["calibration"] = .object([])
        #expect(PythonJSON.canonical(card)
                == #"{"calibration":{},"version":"1.0.0+cal.abcd1234","weights":{"bytes":7.0e3,"file":"model.safetensors"},"x":-0}"#)
        #expect(card["version"]?.string == "1.0.0+cal.abcd1234")
    }

    @Test("semantic versions as calibrate.py reads them")
    func versions() {
        #expect(SemanticVersion.core(of: "1.2.0") == "1.2.0")
        #expect(SemanticVersion.core(of: "1.2.0-rc.1+cal.1234abcd") == "1.2.0")
        #expect(SemanticVersion.core(of: "0.0.0-test") == "0.0.0")
        for bad in ["1.2", "v1.2.0", "1.2.0+", "1.2.0-", "1.2.0 ", "1..0", "1.2.0+a b"] { #expect(!SemanticVersion.isValid(bad), "\(bad)") }
    }
}
