/// JSON text exactly as `histoae_training` writes it, so a card written by `histoae calibrate` reads like one
/// written by Python and its version carries the same digest Python computes:
///
/// * ``pretty(_:)``: `export.dumps_json` — 2-space indent, lists of scalars on one line, UTF-8 kept;
/// * ``canonical(_:)``: `json.dumps(obj, sort_keys=True, separators=(",", ":"))` — what
///   `stats.calibration_digest` hashes (non-ASCII escaped as `\uXXXX`);
/// * ``float(_:)``: Python's `repr` of a float (the shortest text that reads back to the same double).
///
/// ```swift
/// PythonJSON.float(1e-05)                  // "1e-05"
/// PythonJSON.float(1)                      // "1.0"
/// PythonJSON.canonical(.object([.init(key: "b", value: .int(1)), .init(key: "a", value: .null)]))   // {"a":null,"b":1}
/// ```
enum PythonJSON {
    /// `dumps_json(value)`: objects one member a line, lists of scalars inline (`[1.0, 2.0]`), 2 spaces a level.
    static func pretty(_ value: OrderedJSON, level: Int = 0) -> String {
        let pad = String(repeating: " ", count: 2 * (level + 1)), end = String(repeating: " ", count: 2 * level)
        switch value {
        case .object(let members):
            guard !members.isEmpty else { return "{}" }
            let lines = members.map { "\(pad)\(string($0.key, asciiOnly: false)): \(pretty($0.value, level: level + 1))" }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + end + "}"
        case .array(let items):
            if items.allSatisfy(\.isScalar) {
                return "[" + items.map { pretty($0) }.joined(separator: ", ") + "]"
            }
            return "[\n" + items.map { pad + pretty($0, level: level + 1) }.joined(separator: ",\n") + "\n" + end + "]"
        default:
            return scalar(value, asciiOnly: false)
        }
    }

    /// `json.dumps(value, sort_keys=True, separators=(",", ":"))`, keys sorted by code point as Python sorts them.
    static func canonical(_ value: OrderedJSON) -> String {
        switch value {
        case .object(let members):
            let sorted = members.sorted { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
            return "{" + sorted.map { string($0.key, asciiOnly: true) + ":" + canonical($0.value) }.joined(separator: ",") + "}"
        case .array(let items):
            return "[" + items.map(canonical).joined(separator: ",") + "]"
        default:
            return scalar(value, asciiOnly: true)
        }
    }

    private static func scalar(_ value: OrderedJSON, asciiOnly: Bool) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let text): text
        case .string(let s): string(s, asciiOnly: asciiOnly)
        case .array, .object: canonical(value)
        }
    }

    /// A JSON string as Python's encoder writes it: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other control
    /// characters as `\u00XX`; with `asciiOnly` (`ensure_ascii=True`) everything outside space…`~` as `\uXXXX`
    /// (UTF-16 surrogate pairs above U+FFFF).
    static func string(_ s: String, asciiOnly: Bool) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E) {
                    for unit in String(scalar).utf16 { out += "\\u" + hex4(unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func hex4(_ unit: UInt16) -> String {
        let digits = String(unit, radix: 16)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// Python's `repr(x)` of a finite double: the shortest round-tripping digits (Swift's `description` finds
    /// the same ones), written in positional notation when the decimal point falls within −4 < p ≤ 16 of the
    /// first digit, else as `d.ddde±XX`; always with a `.` or an exponent (`1.0`, `1e-05`, `1e+16`).
    /// - Precondition: `x` is finite (JSON has no NaN or infinity).
    static func float(_ x: Double) -> String {
        precondition(x.isFinite, "JSON numbers are finite")
        if x == 0 { return x.sign == .minus ? "-0.0" : "0.0" }
        var text = abs(x).description
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        var digits = Array(parts[0] + (parts.count > 1 ? parts[1] : ""))
        // The decimal point sits after `point` digits (Python's decpt).
        var point = parts[0].count + exponent
        while digits.first == "0" { digits.removeFirst(); point -= 1 }
        while digits.last == "0" { digits.removeLast() }
        let sign = x < 0 ? "-" : ""
        if point <= -4 || point > 16 {
            let mantissa = String(digits[0]) + (digits.count > 1 ? "." + String(digits[1...]) : "")
            let e = point - 1
            let magnitude = String(abs(e))
            return sign + mantissa + "e" + (e < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" : "") + magnitude
        }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + String(digits) }
        if point >= digits.count { return sign + String(digits) + String(repeating: "0", count: point - digits.count) + ".0" }
        return sign + String(digits[..<point]) + "." + String(digits[point...])
    }
}

extension OrderedJSON {
    /// Neither an array nor an object.
    var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }
}
