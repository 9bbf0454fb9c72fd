/// Reads a `multipart/form-data` body (RFC 7578 over RFC 2046's grammar) from untrusted bytes.
///
/// It is written to hold on any byte sequence: one pass over the body, no recursion, every index checked
/// against the buffer's end, header names restricted to ASCII tokens, and each part's header section bounded
/// by ``MultipartLimits`` before anything is stored. Content is never copied: each ``MultipartPart`` holds a
/// range of the body. Delimiter search is linear in the body's length (the boundary cannot contain CR, so
/// candidate matches never overlap). `Fuzz/targets/multipart.swift` drives it with libFuzzer.
///
/// ```swift
/// let body = Array("--B\r\nContent-Disposition: form-data; name=\"patch\"\r\n\r\nPNG…\r\n--B--\r\n".utf8)
/// let parts = try body.withUnsafeBytes { try MultipartReader.parse($0, boundary: "B", limits: .init(maxParts: 256)) }
/// // parts[0].field("content-disposition") == "form-data; name=\"patch\"", parts[0].content == 50..<56
/// ```
public enum MultipartReader {
    /// Splits `body` into its parts.
    ///
    /// - Parameter boundary: the `boundary` parameter of the request's `Content-Type`, unquoted.
    /// - Throws: ``MultipartError``; the first problem found, with the 1-based part it concerns.
    public static func parse(_ body: UnsafeRawBufferPointer, boundary: String,
                             limits: MultipartLimits) throws(MultipartError) -> [MultipartPart] {
        let dashBoundary = try dashBoundaryBytes(boundary)  // "--" boundary
        let delimiter: [UInt8] = [cr, lf] + dashBoundary     // CRLF "--" boundary: ends every part's content
        var position: Int
        if matches(body, at: 0, dashBoundary) {
            position = dashBoundary.count
        } else if let start = find(delimiter, in: body, from: 0, to: body.count) {  // after a preamble
            position = start + delimiter.count
        } else {
            throw .missingOpeningBoundary
        }
        var parts: [MultipartPart] = []
        while true {
            let part = parts.count + 1
            if matches(body, at: position, [dash, dash]) {  // close-delimiter; the epilogue is ignored
                guard !parts.isEmpty else { throw .noParts }
                return parts
            }
            while position < body.count && (body[position] == space || body[position] == tab) { position += 1 }  // padding
            guard matches(body, at: position, [cr, lf]) else {
                throw body.count - position < 2 ? .truncated(part: part) : .malformedBoundaryLine(part: part)
            }
            guard parts.count < limits.maxParts else { throw .tooManyParts(limit: limits.maxParts) }
            let (fields, contentStart) = try readFields(body, from: position + 2, part: part, limits: limits)
            guard let contentEnd = find(delimiter, in: body, from: contentStart, to: body.count) else {
                throw .truncated(part: part)
            }
            parts.append(MultipartPart(fields: fields, content: contentStart..<contentEnd))
            position = contentEnd + delimiter.count
        }
    }

    /// Reads header lines from `start` through the blank line; returns them and where the content starts.
    private static func readFields(_ body: UnsafeRawBufferPointer, from start: Int, part: Int,
                                   limits: MultipartLimits) throws(MultipartError) -> ([HeaderField], Int) {
        // The whole section, blank line included, must end inside this window.
        let available = body.count - start
        let windowEnd = available > limits.maxHeaderBytesPerPart ? start + limits.maxHeaderBytesPerPart : body.count
        var fields: [HeaderField] = []
        var lineStart = start
        while true {
            guard let lineEnd = find([cr, lf], in: body, from: lineStart, to: windowEnd) else {
                throw windowEnd == body.count ? .truncated(part: part)
                                              : .headerSectionTooLarge(part: part, limit: limits.maxHeaderBytesPerPart)
            }
            if lineEnd == lineStart { return (fields, lineEnd + 2) }
            guard fields.count < limits.maxFieldsPerPart else {
                throw .tooManyFields(part: part, limit: limits.maxFieldsPerPart)
            }
            guard let field = headerField(body, lineStart..<lineEnd) else { throw .malformedHeader(part: part) }
            fields.append(field)
            lineStart = lineEnd + 2
        }
    }

    /// `token ":" OWS value OWS`, or nil. Obsolete line folding (a line starting with SP/HT) is refused with
    /// the rest, since a folded line's first byte is not a token character.
    private static func headerField(_ body: UnsafeRawBufferPointer, _ line: Range<Int>) -> HeaderField? {
        var colon = line.lowerBound
        while colon < line.upperBound && body[colon] != colonByte {
            guard isTokenByte(body[colon]) else { return nil }
            colon += 1
        }
        guard colon > line.lowerBound, colon < line.upperBound else { return nil }
        var valueStart = colon + 1, valueEnd = line.upperBound
        while valueStart < valueEnd && (body[valueStart] == space || body[valueStart] == tab) { valueStart += 1 }
        while valueEnd > valueStart && (body[valueEnd - 1] == space || body[valueEnd - 1] == tab) { valueEnd -= 1 }
        for index in valueStart..<valueEnd where isControlByte(body[index]) { return nil }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: body[line.lowerBound..<colon]), as: UTF8.self)
        let value = String(decoding: UnsafeRawBufferPointer(rebasing: body[valueStart..<valueEnd]), as: UTF8.self)
        return HeaderField(name: MediaType.asciiLowercased(name), value: value)
    }

    /// "--" + boundary, after checking the boundary against RFC 2046 §5.1.1 (1–70 `bchars`, not ending in a space).
    static func dashBoundaryBytes(_ boundary: String) throws(MultipartError) -> [UInt8] {
        let bytes = Array(boundary.utf8)
        guard (1...70).contains(bytes.count), bytes.last != space, bytes.allSatisfy(isBoundaryByte) else {
            throw .invalidBoundary
        }
        return [dash, dash] + bytes
    }

    /// The first index in `from..<to` where `pattern` starts, if it fits there entirely.
    static func find(_ pattern: [UInt8], in body: UnsafeRawBufferPointer, from: Int, to end: Int) -> Int? {
        guard from >= 0, end <= body.count, end - from >= pattern.count, let first = pattern.first else { return nil }
        let last = end - pattern.count
        var index = from
        while index <= last {
            if body[index] == first && matches(body, at: index, pattern) { return index }
            index += 1
        }
        return nil
    }

    static func matches(_ body: UnsafeRawBufferPointer, at index: Int, _ pattern: [UInt8]) -> Bool {
        guard index >= 0, body.count - index >= pattern.count else { return false }
        for offset in pattern.indices where body[index + offset] != pattern[offset] { return false }
        return true
    }

    /// RFC 9110 §5.6.2 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool { tokenBytes[Int(byte)] }

    /// RFC 2046 `bchars`.
    static func isBoundaryByte(_ byte: UInt8) -> Bool { boundaryBytes[Int(byte)] }

    /// 256-entry tables, built once: letters, digits and the listed punctuation.
    private static let tokenBytes = byteTable(punctuation: "!#$%&'*+-.^_`|~")
    private static let boundaryBytes = byteTable(punctuation: "'()+_,-./:=? ")

    private static func byteTable(punctuation: String) -> [Bool] {
        var table = [Bool](repeating: false, count: 256)
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
        for byte in punctuation.utf8 { table[Int(byte)] = true }
        return table
    }

    /// Control characters other than HT, which a field value may not hold (RFC 9110 §5.5).
    static func isControlByte(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != tab) || byte == 0x7F }

    static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), dash = UInt8(ascii: "-")
    static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), colonByte = UInt8(ascii: ":")
}
