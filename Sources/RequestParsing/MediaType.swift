/// A `Content-Type` or `Content-Disposition` value (RFC 9110 §8.3.1, RFC 6266): the lowercased type and its
/// `;`-separated parameters, names lowercased, quoted strings unquoted (`\x` escapes resolved).
///
/// Parsing never fails and never traps: a value that does not follow the grammar yields what could be read
/// (an empty type, fewer parameters), and the caller refuses what it cannot use. A repeated parameter keeps
/// its first value. `Fuzz/targets/media-type.swift` drives it with libFuzzer.
///
/// ```swift
/// let type = MediaType(parsing: #"multipart/form-data; boundary="a b""#)
/// // type.type == "multipart/form-data", type.parameters["boundary"] == "a b"
/// let disposition = MediaType(parsing: #"form-data; name="patch"; filename="x \"1\".png""#)
/// // disposition.parameters["filename"] == #"x "1".png"#
/// ```
public struct MediaType: Sendable, Equatable {
    /// `type/subtype` (or a disposition type), lowercased and trimmed; "" when absent.
    public let type: String
    public let parameters: [String: String]

    public init(parsing value: String) {
        let bytes = Array(value.utf8)
        let typeEnd = Self.scan(bytes, from: 0) { $0 == semicolon }
        type = Self.asciiLowercased(Self.text(bytes[0..<typeEnd]))
        var index = typeEnd
        var parameters: [String: String] = [:]
        while index < bytes.count {  // at a ';'
            index += 1
            let nameEnd = Self.scan(bytes, from: index) { $0 == semicolon || $0 == equals }
            let name = Self.asciiLowercased(Self.text(bytes[index..<nameEnd]))
            index = nameEnd
            guard index < bytes.count, bytes[index] == equals else { continue }  // a bare name: skipped
            index += 1
            while index < bytes.count, bytes[index] == space || bytes[index] == tab { index += 1 }
            var parameterValue: String
            if index < bytes.count, bytes[index] == quote {
                var unquoted: [UInt8] = []
                index += 1
                while index < bytes.count, bytes[index] != quote {
                    if bytes[index] == backslash, index + 1 < bytes.count { index += 1 }
                    unquoted.append(bytes[index])
                    index += 1
                }
                parameterValue = String(decoding: unquoted, as: UTF8.self)
                index = Self.scan(bytes, from: min(index + 1, bytes.count)) { $0 == semicolon }  // skip to the next ';'
            } else {
                let valueEnd = Self.scan(bytes, from: index) { $0 == semicolon }
                parameterValue = Self.text(bytes[index..<valueEnd])
                index = valueEnd
            }
            if !name.isEmpty && parameters[name] == nil { parameters[name] = parameterValue }
        }
        self.parameters = parameters
    }

    /// The first index at or after `start` whose byte satisfies `stop`, or the end.
    private static func scan(_ bytes: [UInt8], from start: Int, until stop: (UInt8) -> Bool) -> Int {
        var index = start
        while index < bytes.count && !stop(bytes[index]) { index += 1 }
        return index
    }

    /// `A`–`Z` to `a`–`z`, every other byte as it is: header tokens are case-insensitive in ASCII only, and
    /// Unicode lowercasing can change a string's length.
    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// The bytes as UTF-8 with surrounding spaces and tabs removed.
    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        var slice = bytes
        while let first = slice.first, first == space || first == tab { slice.removeFirst() }
        while let last = slice.last, last == space || last == tab { slice.removeLast() }
        return String(decoding: slice, as: UTF8.self)
    }
}

private let semicolon = UInt8(ascii: ";"), equals = UInt8(ascii: "="), quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\"), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
