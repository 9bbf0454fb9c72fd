// libFuzzer target: MediaType(parsing:) (Sources/RequestParsing), which reads every request's Content-Type and
// each multipart part's Content-Disposition / Content-Type. The bytes are the header value (as UTF-8).
//
//   scripts/fuzz.sh run media-type 600
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMediaType(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let value = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let media = MediaType(parsing: value)
    // The documented shape: type lowercased (in ASCII: header tokens are case-insensitive in ASCII only) and
    // trimmed, names lowercased, trimmed and non-empty. Checked on bytes: String's == and contains treat
    // canonically equivalent text as equal (U+037E is ";").
    let blank: (UInt8?) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
    let semicolon = UInt8(ascii: ";"), equals = UInt8(ascii: "=")
    let asciiUpper: (UInt8) -> Bool = { (65...90).contains($0) }
    require(!media.type.utf8.contains(where: asciiUpper), "type \(media.type.debugDescription) is not lowercased")
    require(!media.type.utf8.contains(semicolon) && !blank(media.type.utf8.first) && !blank(media.type.utf8.last),
            "type \(media.type.debugDescription) is not a trimmed ';'-free string")
    for name in media.parameters.keys {
        require(!name.isEmpty && !name.utf8.contains(where: asciiUpper), "name \(name.debugDescription) is not lowercased")
        require(!name.utf8.contains(semicolon) && !name.utf8.contains(equals), "name \(name.debugDescription) holds ';' or '='")
        require(!blank(name.utf8.first) && !blank(name.utf8.last), "untrimmed name \(name.debugDescription)")
    }
    // Every parsed value written back as a quoted string parses to the same thing.
    var canonical = media.type
    for (name, parameter) in media.parameters.sorted(by: { $0.key < $1.key }) {
        let escaped = parameter.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"")
        canonical += "; \(name)=\"\(escaped)\""
    }
    let again = MediaType(parsing: canonical)
    require(again == media, "\(canonical.debugDescription) parses to \(again), not \(media)")
    return 0
}

extension String {
    /// Foundation-free replacement over Unicode scalars (a Character would glue a backslash to a following
    /// combining mark, and the escape would be missed).
    func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        var out = ""
        for scalar in unicodeScalars { if scalar == target { out += replacement } else { out.unicodeScalars.append(scalar) } }
        return out
    }
}
