// libFuzzer target: AcceptHeader(parsing:) and quality(of:) (Sources/RequestParsing), as the server's content
// negotiation uses them. The bytes are the Accept header value (as UTF-8).
//
//   scripts/fuzz.sh run accept 600
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAccept(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let value = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let accept = AcceptHeader(parsing: value)
    for range in accept.ranges {
        require((0...1).contains(range.quality), "quality \(range.quality) outside 0…1")
        let slash = UInt8(ascii: "/")  // bytes: String.contains would also match canonically equivalent text
        require(!range.type.isEmpty && !range.subtype.isEmpty && !range.type.utf8.contains(slash) && !range.subtype.utf8.contains(slash),
                     "range \(range.type)/\(range.subtype)")
        require(range.type != "*" || range.subtype == "*", "range */\(range.subtype) accepted")
        // The most specific match of a concrete type is at least as good as any identical range.
        if range.type != "*" && range.subtype != "*" {
            require(accept.quality(of: "\(range.type)/\(range.subtype)") >= range.quality, "quality(of:) below a matching range")
        }
    }
    for type in ["application/json", "image/png", "text/html"] {  // what ResponseFormat.negotiate asks
        require((0...1).contains(accept.quality(of: type)), "quality(of: \(type)) outside 0…1")
    }
    // The parsed ranges written back canonically parse to the same ranges. A q the parser took from five
    // characters may need more in Swift's shortest form (".5001" is 0.5001): such ranges are left out.
    let writable = accept.ranges.filter { "\($0.quality)".utf8.count <= 5 }
    let canonical = writable.map { "\($0.type)/\($0.subtype);q=\($0.quality)" }.joined(separator: ",")
    let again = AcceptHeader(parsing: canonical)
    require(again.ranges == writable, "\(canonical.debugDescription) parses to \(again.ranges), not \(writable)")
    return 0
}
