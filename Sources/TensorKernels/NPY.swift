import Foundation

/// NumPy `.npy` (format 1.0/2.0) for float32 arrays in C order — the `histoae reconstruct` exchange format.
///
/// ```swift
/// let t = try NPY.read(Data(contentsOf: url))     // Tensor with shape [N, 3, 150, 150]
/// try NPY.serialize(t).write(to: out)
/// ```
public enum NPY {
    /// Parses a whole `.npy` file held in memory: the entry point for untrusted bytes (and fuzzing). Any byte
    /// string either parses or throws ``NPYError``. The header dictionary is parsed as the Python literal it is
    /// (not searched for substrings), and the element and byte counts are overflow-checked before anything is
    /// allocated or read: the module is built with `-Ounchecked`, where a wrapped product would read off the heap.
    ///
    /// ```swift
    /// let t = try NPY.read(Data(bytes: pointer, count: length))
    /// ```
    public static func read(_ data: Data) throws(NPYError) -> Tensor {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw .malformed("missing the \\x93NUMPY magic")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else if major == 2 || major == 3, bytes.count >= 12 {
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }   // < 2³², no overflow in Int
            headerStart = 12
        } else { throw .malformed("unsupported .npy version \(major)") }
        guard headerLength <= maxHeaderLength, headerLength <= bytes.count - headerStart else {
            throw .malformed("header of \(headerLength) bytes does not fit the \(bytes.count)-byte file")
        }
        let payload = headerStart + headerLength
        let header = try Header(parsing: bytes[headerStart..<payload])
        guard header.descr == "<f4" || header.descr == "=f4" else {
            throw .unsupported("dtype must be little-endian float32 ('<f4'), got '\(header.descr)'")
        }
        guard !header.fortranOrder else { throw .unsupported("Fortran-order arrays are not supported") }
        var count = 1
        for dimension in header.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow else { throw .malformed("shape \(header.shape) has more elements than fit in Int") }
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: 4)
        guard !overflow, bytes.count - payload == byteCount else {
            throw .malformed("payload is \(bytes.count - payload) bytes, shape \(header.shape) needs "
                             + (overflow ? "more than \(Int.max)" : "\(byteCount)"))
        }
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBytes { raw in
                for i in 0..<count {
                    out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: payload + 4 * i, as: UInt32.self)))
                }
            }
            initialized = count
        }
        return Tensor(shape: header.shape, values: values)
    }

    /// NumPy itself refuses headers over 10 000 bytes by default (`max_header_size`); allow more, not unbounded.
    static let maxHeaderLength = 1 << 20

    /// The header's Python dict literal, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`:
    /// exactly the three keys NumPy writes, each once; strings, booleans and a tuple of non-negative integers.
    struct Header {
        var descr = ""
        var fortranOrder = false
        var shape: [Int] = []

        init(parsing text: ArraySlice<UInt8>) throws(NPYError) {
            var scanner = LiteralScanner(text)
            var seen = Set<String>()
            try scanner.expect("{")
            while !scanner.consume("}") {
                let key = try scanner.string()
                guard seen.insert(key).inserted else { throw .malformed("header repeats '\(key)'") }
                try scanner.expect(":")
                switch key {
                case "descr": descr = try scanner.string()
                case "fortran_order": fortranOrder = try scanner.boolean()
                case "shape": shape = try scanner.integerTuple()
                default: throw .malformed("unexpected header key '\(key)'")
                }
                if !scanner.consume(",") {
                    try scanner.expect("}")
                    break
                }
            }
            guard scanner.atEnd else { throw .malformed("bytes after the header dictionary") }
            guard seen == ["descr", "fortran_order", "shape"] else {
                throw .malformed("header lacks \(["descr", "fortran_order", "shape"].filter { !seen.contains($0) })")
            }
        }
    }

    /// A cursor over the ASCII header that skips spaces and the newline padding NumPy writes.
    struct LiteralScanner {
        private let text: ArraySlice<UInt8>
        private var index: Int

        init(_ text: ArraySlice<UInt8>) {
            self.text = text
            index = text.startIndex
        }

        var atEnd: Bool {
            mutating get { skipSpace(); return index == text.endIndex }
        }

        private mutating func skipSpace() {
            while index < text.endIndex, text[index] == 0x20 || text[index] == 0x0A || text[index] == 0x09 { index += 1 }
        }

        mutating func consume(_ token: String) -> Bool {
            skipSpace()
            let utf8 = Array(token.utf8)
            guard text[index...].starts(with: utf8) else { return false }
            index += utf8.count
            return true
        }

        mutating func expect(_ token: String) throws(NPYError) {
            guard consume(token) else { throw .malformed("header: expected '\(token)' at byte \(index - text.startIndex)") }
        }

        /// A '…' or "…" literal without escapes (NumPy never writes any).
        mutating func string() throws(NPYError) -> String {
            skipSpace()
            guard index < text.endIndex, text[index] == UInt8(ascii: "'") || text[index] == UInt8(ascii: "\"") else {
                throw .malformed("header: expected a string at byte \(index - text.startIndex)")
            }
            let quote = text[index]
            guard let close = text[(index + 1)...].firstIndex(of: quote) else { throw .malformed("header: unterminated string") }
            let value = text[(index + 1)..<close]
            guard !value.contains(UInt8(ascii: "\\")), let string = String(bytes: value, encoding: .utf8) else {
                throw .malformed("header: unsupported string literal")
            }
            index = close + 1
            return string
        }

        mutating func boolean() throws(NPYError) -> Bool {
            if consume("True") { return true }
            if consume("False") { return false }
            throw .malformed("header: expected True or False at byte \(index - text.startIndex)")
        }

        /// `()`, `(n,)` or `(a, b, …)` of decimal integers that fit in Int.
        mutating func integerTuple() throws(NPYError) -> [Int] {
            try expect("(")
            var values: [Int] = []
            while !consume(")") {
                skipSpace()
                let start = index
                while index < text.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[index]) { index += 1 }
                guard index > start, index - start <= 19, let value = Int(String(decoding: text[start..<index], as: UTF8.self)) else {
                    throw .malformed("header: expected a non-negative integer dimension at byte \(start - text.startIndex)")
                }
                values.append(value)
                if !consume(",") {
                    try expect(")")
                    break
                }
            }
            return values
        }
    }

    public static func serialize(_ tensor: Tensor) -> Data {
        let shape = tensor.shape.count == 1 ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        // Pad so the payload starts on a 64-byte boundary, newline-terminated, as NumPy writes it.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        out.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        out.append(contentsOf: Array(header.utf8))
        tensor.values.withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }
}

public enum NPYError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .malformed(let why): "not a valid .npy file: \(why)"
        case .unsupported(let why): "unsupported .npy array: \(why)"
        }
    }
}
