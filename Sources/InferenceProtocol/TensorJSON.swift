/// A strict JSON (RFC 8259) reader for inference requests, built so that a tensor's `data` costs about its
/// own size in memory: an array holding only numbers (or arrays of only numbers, at any depth) is read straight
/// into one flat `[Double]`, row-major. Foundation's JSONSerialization boxed every element: a 16 MB body of
/// pixel values took 420 MB and 1.3 s to parse.
///
/// Every byte is the client's: nesting is bounded (``maxDepth``), numbers must follow JSON's grammar, strings
/// must be valid UTF-8 without raw control characters, and nothing may follow the top-level value.
///
/// ```swift
/// let value = try TensorJSON.parse(Array(#"{"shape":[1,3],"data":[[1,2,3]]}"#.utf8)[...])
/// value["data"]   // .numbers([1, 2, 3])
/// ```
public indirect enum TensorJSON: Sendable, Equatable {
    case object([String: TensorJSON])
    case array([TensorJSON])
    /// An array of numbers only, nested arrays flattened in row-major order.
    case numbers([Double])
    case string(String)
    /// A number; `integral`: written without a fraction or exponent.
    case number(Double, integral: Bool)
    case bool(Bool)
    case null

    /// Deeper nesting is refused: a tensor has at most a handful of dimensions inside a request's few levels.
    public static let maxDepth = 32

    public subscript(key: String) -> TensorJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    public static func parse(_ bytes: ArraySlice<UInt8>) throws(SyntaxError) -> TensorJSON {
        try bytes.withUnsafeBufferPointer { buffer throws(SyntaxError) -> TensorJSON in
            var reader = Reader(bytes: buffer, position: 0)
            reader.skipSpace()
            let value = try reader.value(depth: 0)
            reader.skipSpace()
            guard reader.position == buffer.count else { throw reader.error("unexpected data after the JSON value") }
            return value
        }
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int

    func error(_ reason: String) -> TensorJSON.SyntaxError { TensorJSON.SyntaxError(offset: position, reason: reason) }

    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func expect(_ literal: StaticString, _ value: TensorJSON) throws(TensorJSON.SyntaxError) -> TensorJSON {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count,
              (0..<count).allSatisfy({ bytes[position + $0] == literal.utf8Start[$0] }) else { throw error("invalid literal") }
        position += count
        return value
    }

    mutating func value(depth: Int) throws(TensorJSON.SyntaxError) -> TensorJSON {
        guard depth < TensorJSON.maxDepth else { throw error("nested deeper than \(TensorJSON.maxDepth) levels") }
        guard let byte = peek else { throw error("unexpected end of the JSON") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let (number, integral) = try number()
            return .number(number, integral: integral)
        default: throw error("unexpected character")
        }
    }

    mutating func object(depth: Int) throws(TensorJSON.SyntaxError) -> TensorJSON {
        position += 1
        var members: [String: TensorJSON] = [:]
        skipSpace()
        if peek == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try string()
            skipSpace()
            guard peek == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipSpace()
            guard members[key] == nil else { throw error("member '\(key)' appears twice") }
            members[key] = try value(depth: depth + 1)
            skipSpace()
            guard let next = peek else { throw error("unexpected end of the JSON") }
            position += 1
            if next == UInt8(ascii: "}") { return .object(members) }
            guard next == UInt8(ascii: ",") else { throw error("expected ',' or '}'") }
        }
    }

    /// Numbers and number arrays go into one flat buffer; the first other element turns the array general.
    mutating func array(depth: Int) throws(TensorJSON.SyntaxError) -> TensorJSON {
        position += 1
        var numbers: [Double] = []
        var general: [TensorJSON]?
        skipSpace()
        if peek == UInt8(ascii: "]") { position += 1; return .numbers([]) }
        while true {
            skipSpace()
            guard let byte = peek else { throw error("unexpected end of the JSON") }
            if general == nil, byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                numbers.append(try number().value)
            } else {
                let element = try value(depth: depth + 1)
                if general == nil, case .numbers(let inner) = element {
                    numbers += inner
                } else {
                    if general == nil { general = numbers.map { .number($0, integral: $0.rounded() == $0) } }
                    general!.append(element)
                }
            }
            skipSpace()
            guard let next = peek else { throw error("unexpected end of the JSON") }
            position += 1
            if next == UInt8(ascii: "]") { return general.map(TensorJSON.array) ?? .numbers(numbers) }
            guard next == UInt8(ascii: ",") else { throw error("expected ',' or ']'") }
        }
    }

    /// JSON's number grammar exactly; whole numbers of up to 15 digits are converted directly, the rest by strtod.
    mutating func number() throws(TensorJSON.SyntaxError) -> (value: Double, integral: Bool) {
        let start = position
        func digits(_ reader: inout Reader) -> Int {
            let first = reader.position
            while let byte = reader.peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { reader.position += 1 }
            return reader.position - first
        }
        if peek == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("invalid number") }
        guard !(integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0")) else { throw error("invalid number (leading zero)") }
        var integral = true
        if peek == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw error("invalid number") }
            integral = false
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw error("invalid number") }
            integral = false
        }
        if integral && integerDigits <= 15 {
            var value = 0.0
            for index in integerStart..<position { value = value * 10 + Double(bytes[index] &- UInt8(ascii: "0")) }
            return (bytes[start] == UInt8(ascii: "-") ? -value : value, true)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw error("number out of range") }
        return (value, integral)
    }

    mutating func string() throws(TensorJSON.SyntaxError) -> String {
        position += 1
        var out: [UInt8] = []
        while true {
            guard let byte = peek else { throw error("unterminated string") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                guard let escape = peek else { throw error("unterminated string") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {   // a high surrogate: its low half must follow
                        guard peek == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate")
                        }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("unpaired surrogate") }
                    out += Array(String(Character(unicode)).utf8)
                default: throw error("invalid escape")
                }
            case 0..<0x20: throw error("a control character inside a string")
            default: out.append(byte)
            }
        }
    }

    mutating func hex4() throws(TensorJSON.SyntaxError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw error("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}
