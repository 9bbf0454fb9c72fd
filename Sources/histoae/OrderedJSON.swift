import Foundation

/// A JSON value that keeps what a model card's writer chose: the order of every object's keys and the text of
/// every number. `histoae calibrate` edits two keys of a `model.json` and writes everything else back as it
/// was (Foundation's JSONSerialization forgets key order and reformats numbers).
///
/// ```swift
/// var card = try OrderedJSON.parse(Array(data))
/// card["version"] = .string("1.2.0+cal.1a2b3c4d")
/// let text = PythonJSON.pretty(card)          // as histoae_training writes model.json
/// ```
indirect enum OrderedJSON: Equatable {
    case null
    case bool(Bool)
    /// The number's text as written (RFC 8259 grammar, checked by the parser).
    case number(String)
    case string(String)
    case array([OrderedJSON])
    case object([Member])

    struct Member: Equatable {
        var key: String
        var value: OrderedJSON
    }

    /// A float written the way Python's `json` writes it (``PythonJSON/float(_:)``). - Precondition: finite.
    static func double(_ value: Double) -> OrderedJSON { .number(PythonJSON.float(value)) }

    static func int(_ value: Int) -> OrderedJSON { .number(String(value)) }

    /// An object member by key; setting replaces the member in place, or appends a new one at the end.
    subscript(key: String) -> OrderedJSON? {
        get {
            guard case .object(let members) = self else { return nil }
            return members.first { $0.key == key }?.value
        }
        set {
            guard case .object(var members) = self else { return }
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
            self = .object(members)
        }
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    // MARK: Parsing

    /// Deeper nesting than any model card needs; bounds the recursion on hostile files.
    static let maximumDepth = 64

    struct ParseError: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Parses one JSON text (RFC 8259: UTF-8, no trailing commas, no comments, no duplicate keys in an object).
    static func parse(_ bytes: [UInt8]) throws(ParseError) -> OrderedJSON {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.offset == bytes.count else { throw parser.error("trailing characters after the value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var offset = 0

        func error(_ reason: String) -> ParseError { ParseError(offset: offset, reason: reason) }

        var peek: UInt8? { offset < bytes.count ? bytes[offset] : nil }

        mutating func skipWhitespace() {
            while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { offset += 1 }
        }

        mutating func expect(_ literal: String) throws(ParseError) {
            for b in literal.utf8 {
                guard peek == b else { throw error("expected '\(literal)'") }
                offset += 1
            }
        }

        mutating func value(depth: Int) throws(ParseError) -> OrderedJSON {
            guard depth < OrderedJSON.maximumDepth else { throw error("nested deeper than \(OrderedJSON.maximumDepth) levels") }
            switch peek {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case let b? where b == UInt8(ascii: "-") || (0x30...0x39).contains(b): return .number(try number())
            case nil: throw error("unexpected end of text")
            default: throw error("unexpected character")
            }
        }

        mutating func object(depth: Int) throws(ParseError) -> OrderedJSON {
            offset += 1
            var members: [Member] = []
            var keys = Set<String>()
            skipWhitespace()
            if peek == UInt8(ascii: "}") { offset += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard peek == UInt8(ascii: "\"") else { throw error("expected a key") }
                let key = try string()
                guard keys.insert(key).inserted else { throw error("duplicate key \"\(key)\"") }
                skipWhitespace()
                try expect(":")
                skipWhitespace()
                members.append(Member(key: key, value: try value(depth: depth + 1)))
                skipWhitespace()
                if peek == UInt8(ascii: ",") { offset += 1; continue }
                try expect("}")
                return .object(members)
            }
        }

        mutating func array(depth: Int) throws(ParseError) -> OrderedJSON {
            offset += 1
            var items: [OrderedJSON] = []
            skipWhitespace()
            if peek == UInt8(ascii: "]") { offset += 1; return .array(items) }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                if peek == UInt8(ascii: ",") { offset += 1; continue }
                try expect("]")
                return .array(items)
            }
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
        mutating func number() throws(ParseError) -> String {
            let start = offset
            func digits(_ parser: inout Parser) -> Int {
                let from = parser.offset
                while let b = parser.peek, (0x30...0x39).contains(b) { parser.offset += 1 }
                return parser.offset - from
            }
            if peek == UInt8(ascii: "-") { offset += 1 }
            if peek == UInt8(ascii: "0") {
                offset += 1
            } else {
                guard digits(&self) > 0 else { throw error("a number needs digits") }
            }
            if peek == UInt8(ascii: ".") {
                offset += 1
                guard digits(&self) > 0 else { throw error("a number needs digits after '.'") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                offset += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { offset += 1 }
                guard digits(&self) > 0 else { throw error("a number needs digits in its exponent") }
            }
            return String(decoding: bytes[start..<offset], as: UTF8.self)
        }

        mutating func string() throws(ParseError) -> String {
            offset += 1
            var out: [UInt8] = []
            while true {
                guard let b = peek else { throw error("unterminated string") }
                offset += 1
                switch b {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: out, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
                    return text
                case UInt8(ascii: "\\"):
                    try escape(into: &out)
                case 0..<0x20:
                    throw error("a control character inside a string")
                default:
                    out.append(b)
                }
            }
        }

        mutating func escape(into out: inout [UInt8]) throws(ParseError) {
            guard let b = peek else { throw error("unterminated escape") }
            offset += 1
            let simple: [UInt8: UInt8] = [0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A,
                                          0x72: 0x0D, 0x74: 0x09]
            if let c = simple[b] { out.append(c); return }
            guard b == UInt8(ascii: "u") else { throw error("unknown escape") }
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard peek == UInt8(ascii: "\\") else { throw error("unpaired surrogate") }
                offset += 1
                guard peek == UInt8(ascii: "u") else { throw error("unpaired surrogate") }
                offset += 1
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error("unpaired surrogate")
            }
            out += Array(String(Character(Unicode.Scalar(scalar)!)).utf8)
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            guard offset + 4 <= bytes.count else { throw error("a \\u escape needs 4 hex digits") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[offset]
                let digit: UInt8
                switch b {
                case 0x30...0x39: digit = b - 0x30
                case 0x41...0x46: digit = b - 0x41 + 10
                case 0x61...0x66: digit = b - 0x61 + 10
                default: throw error("a \\u escape needs 4 hex digits")
                }
                value = value << 4 | UInt32(digit)
                offset += 1
            }
            return value
        }
    }
}
