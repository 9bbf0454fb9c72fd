import RequestParsing
import Testing

/// RFC 7578 bodies as clients write them, and the malformed ones each limit and error case exists for.
struct MultipartReaderTests {
    let limits = MultipartLimits(maxParts: 4)

    func parse(_ text: String, boundary: String = "B", limits: MultipartLimits? = nil) throws(MultipartError) -> [MultipartPart] {
        try parse(Array(text.utf8), boundary: boundary, limits: limits)
    }

    func parse(_ bytes: [UInt8], boundary: String = "B", limits: MultipartLimits? = nil) throws(MultipartError) -> [MultipartPart] {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MultipartError) -> [MultipartPart] in
                try MultipartReader.parse(raw, boundary: boundary, limits: limits ?? self.limits)
            }
        }
        return try result.get()
    }

    func content(_ part: MultipartPart, of text: String) -> String {
        String(decoding: Array(text.utf8)[part.content], as: UTF8.self)
    }

    @Test func partsComeBackInOrderWithTheirFields() throws {
        let body = "--B\r\nContent-Disposition: form-data; name=\"patch\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nAAA"
            + "\r\n--B\r\ncontent-disposition:form-data; name=\"patch\"\r\n\r\nB\r\nB\r\n--B--\r\n"
        let parts = try parse(body)
        #expect(parts.count == 2)
        #expect(parts[0].field("content-type") == "image/png")
        #expect(parts[1].field("content-disposition") == "form-data; name=\"patch\"")
        #expect(parts.map { content($0, of: body) } == ["AAA", "B\r\nB"])
    }

    @Test func preambleEpiloguePaddingAndEmptyContentAreAccepted() throws {
        let body = "preamble text\r\n--B  \r\n\r\n\r\n--B\t\r\nX: 1\r\n\r\nZ\r\n--B--  trailing epilogue"
        let parts = try parse(body)
        #expect(parts.map { content($0, of: body) } == ["", "Z"])
        #expect(parts[0].fields.isEmpty)
    }

    @Test func contentThatLooksLikeABoundaryWithoutCRLFIsContent() throws {
        let body = "--B\r\n\r\nx--B y\r\n--Bz\r\n--B--"
        // "\r\n--Bz" is a delimiter followed by "z": not a valid boundary line.
        #expect(throws: MultipartError.malformedBoundaryLine(part: 2)) { try parse(body) }
        let parts = try parse("--B\r\n\r\nx--B y\r\n--B--")
        #expect(parts.count == 1)
    }

    @Test func headerNamesMustBeASCIITokens() {
        // The 392-byte body that trapped MultipartKit 4.7.1: a part header name with a byte ≥ 0x80.
        let body: [UInt8] = Array("--B\r\n".utf8) + [0xFF] + Array("X: y\r\n\r\nAAAA\r\n--B--\r\n".utf8)
        #expect(throws: MultipartError.malformedHeader(part: 1)) { try parse(body) }
        #expect(throws: MultipartError.malformedHeader(part: 1)) { try parse("--B\r\n: no name\r\n\r\nA\r\n--B--") }
        #expect(throws: MultipartError.malformedHeader(part: 1)) { try parse("--B\r\nno colon\r\n\r\nA\r\n--B--") }
        #expect(throws: MultipartError.malformedHeader(part: 1)) { try parse("--B\r\nX: a\r\n folded\r\n\r\nA\r\n--B--") }
        #expect(throws: MultipartError.malformedHeader(part: 1)) { try parse("--B\r\nX: a\u{1}b\r\n\r\nA\r\n--B--") }
    }

    @Test func truncatedBodiesAreRefused() {
        #expect(throws: MultipartError.truncated(part: 1)) { try parse("--B\r\nX: y\r\n\r\nAAAA") }   // inside content
        #expect(throws: MultipartError.truncated(part: 1)) { try parse("--B\r\n\r\nAAAA") }           // part without headers
        #expect(throws: MultipartError.truncated(part: 1)) { try parse("--B\r\nX: y") }               // inside headers
        #expect(throws: MultipartError.truncated(part: 1)) { try parse("--B") }
        #expect(throws: MultipartError.truncated(part: 2)) { try parse("--B\r\n\r\nA\r\n--B") }
        #expect(throws: MultipartError.missingOpeningBoundary) { try parse("") }
        #expect(throws: MultipartError.missingOpeningBoundary) { try parse("no boundary at all") }
        #expect(throws: MultipartError.noParts) { try parse("--B--\r\n") }
    }

    @Test func limitsApplyBeforeStoring() {
        let part = "--B\r\nX: y\r\n\r\nA\r\n"
        #expect(throws: MultipartError.tooManyParts(limit: 4)) { try parse(String(repeating: part, count: 5) + "--B--") }
        #expect((try? parse(String(repeating: part, count: 4) + "--B--"))?.count == 4)
        let manyFields = "--B\r\n" + String(repeating: "X: y\r\n", count: 33) + "\r\nA\r\n--B--"
        #expect(throws: MultipartError.tooManyFields(part: 1, limit: 32)) { try parse(manyFields) }
        let bigHeader = "--B\r\nX: " + String(repeating: "v", count: 9000) + "\r\n\r\nA\r\n--B--"
        #expect(throws: MultipartError.headerSectionTooLarge(part: 1, limit: 8192)) { try parse(bigHeader) }
    }

    @Test func boundariesFollowRFC2046() throws {
        #expect(throws: MultipartError.invalidBoundary) { try parse("--\r\n", boundary: "") }
        #expect(throws: MultipartError.invalidBoundary) { try parse("x", boundary: String(repeating: "b", count: 71)) }
        #expect(throws: MultipartError.invalidBoundary) { try parse("x", boundary: "a\r\nb") }
        #expect(throws: MultipartError.invalidBoundary) { try parse("x", boundary: "ends ") }
        let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
        #expect(try parse("--\(boundary)\r\n\r\nA\r\n--\(boundary)--", boundary: boundary).count == 1)
    }

    @Test func aMegabyteOfCarriageReturnsIsRefusedInLinearTime() {
        let body = Array("--B\r\n\r\n".utf8) + [UInt8](repeating: 13, count: 1 << 20)
        #expect(throws: MultipartError.truncated(part: 1)) { try parse(body) }
        let nearMisses = Array("--B\r\n\r\n".utf8) + Array(String(repeating: "\r\n--\r\n-", count: 1 << 16).utf8)
        #expect(throws: MultipartError.truncated(part: 1)) { try parse(nearMisses) }
    }
}
