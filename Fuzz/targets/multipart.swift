// libFuzzer target: MultipartReader.parse (Sources/RequestParsing) as the server drives it. An input is
// "<Content-Type value>\n<body>": the boundary comes from the Content-Type's parameters (so the fuzzer varies
// both), limits are the server's (256 parts, 8 KiB and 32 lines of headers per part), and each part's
// Content-Disposition / Content-Type is parsed as PatchUpload does.
//
//   scripts/fuzz.sh run multipart 600
let serverLimits = MultipartLimits(maxParts: 256)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let newline = input.firstIndex(of: UInt8(ascii: "\n")) ?? size
    let contentType = MediaType(parsing: String(decoding: UnsafeRawBufferPointer(rebasing: input[..<newline]), as: UTF8.self))
    guard let boundary = contentType.parameters["boundary"] else { return 0 }
    let body = UnsafeRawBufferPointer(rebasing: input[min(newline + 1, size)...])
    guard let parts = try? MultipartReader.parse(body, boundary: boundary, limits: serverLimits) else { return 0 }
    checkParts(parts, of: body, boundary: boundary)
    for part in parts {  // PatchUpload's per-part reads
        _ = MediaType(parsing: part.field("content-disposition") ?? "").parameters["name"]
        _ = part.field("content-type").map { MediaType(parsing: $0).type }
    }
    checkRoundTrip(parts, of: body, boundary: boundary)
    return 0
}

/// What any accepted body must satisfy: parts in order, inside the body, each ending at the first delimiter.
func checkParts(_ parts: [MultipartPart], of body: UnsafeRawBufferPointer, boundary: String) {
    let delimiter = Array("\r\n--\(boundary)".utf8)
    require(!parts.isEmpty && parts.count <= serverLimits.maxParts, "\(parts.count) parts accepted")
    var previousEnd = -1
    for (index, part) in parts.enumerated() {
        let content = part.content
        require(content.lowerBound > previousEnd, "part \(index + 1) overlaps the one before")
        require(content.upperBound + delimiter.count <= body.count, "part \(index + 1) runs past the body")
        require(body[content.upperBound..<(content.upperBound + delimiter.count)].elementsEqual(delimiter),
                     "part \(index + 1) does not end at a delimiter")
        require(firstDelimiter(delimiter, in: body, from: content.lowerBound) == content.upperBound,
                     "part \(index + 1)'s content holds a delimiter")
        require(part.fields.count <= serverLimits.maxFieldsPerPart, "part \(index + 1) has too many fields")
        for field in part.fields {
            require(!field.name.isEmpty && field.name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") },
                         "field name \(field.name.debugDescription) is not a token")
            require(field.name == field.name.lowercased(), "field name \(field.name) is not lowercased")
            require(!field.value.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F },
                         "field value \(field.value.debugDescription) holds a control character")
        }
        previousEnd = content.upperBound
    }
}

/// Writing the parts back as a canonical body and reading it again gives the same fields and contents.
func checkRoundTrip(_ parts: [MultipartPart], of body: UnsafeRawBufferPointer, boundary: String) {
    var canonical = Array("--\(boundary)".utf8)
    for part in parts {
        canonical += Array("\r\n".utf8)
        for field in part.fields { canonical += Array("\(field.name):\(field.value)\r\n".utf8) }
        canonical += Array("\r\n".utf8) + Array(body[part.content]) + Array("\r\n--\(boundary)".utf8)
    }
    canonical += Array("--\r\n".utf8)
    // Invalid UTF-8 in a value comes back as U+FFFD (3 bytes), so the copy's header sections may be longer.
    let roomy = MultipartLimits(maxParts: serverLimits.maxParts, maxHeaderBytesPerPart: 1 << 30,
                                maxFieldsPerPart: serverLimits.maxFieldsPerPart)
    let again: [MultipartPart]
    do { again = try canonical.withUnsafeBytes { bytes throws(MultipartError) in try MultipartReader.parse(bytes, boundary: boundary, limits: roomy) } }
    catch { fatalError("fuzz invariant broken: the canonical copy of an accepted body is refused: \(error)") }
    require(again.map(\.fields) == parts.map(\.fields), "round trip changed the fields")
    let contents = canonical.withUnsafeBytes { copy in again.map { Array(copy[$0.content]) } }
    require(contents == parts.map { Array(body[$0.content]) }, "round trip changed a content")
}

func firstDelimiter(_ delimiter: [UInt8], in body: UnsafeRawBufferPointer, from start: Int) -> Int? {
    guard body.count - start >= delimiter.count else { return nil }
    for index in start...(body.count - delimiter.count)
    where body[index..<(index + delimiter.count)].elementsEqual(delimiter) { return index }
    return nil
}
