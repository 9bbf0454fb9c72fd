/// JSON literals for the writers that stream JSON by hand (the GeoJSON of a slide can hold a hundred thousand
/// features, written one at a time rather than built in memory).
///
/// ```swift
/// JSONText.string("a \"b\"")     // "\"a \\\"b\\\"\""
/// JSONText.number(0.25)          // "0.25";  JSONText.number(.nan) == "null"
/// ```
enum JSONText {
    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func string(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A JSON number: Swift's shortest round-trip form, `null` for NaN and infinities (JSON has neither).
    static func number(_ value: Double) -> String {
        value.isFinite ? "\(value)" : "null"
    }
}
