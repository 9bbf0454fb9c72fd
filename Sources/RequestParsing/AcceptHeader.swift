/// An `Accept` header (RFC 9110 §12.5.1): media ranges with their quality values.
///
/// A range with a malformed type or a `q` outside 0…1 is ignored, as the RFC lets a server do. The quality a
/// client gives a media type is that of the most specific range matching it (`image/png` over `image/*`
/// over `*/*`); 0 when none matches. `Fuzz/targets/accept.swift` drives it with libFuzzer.
///
/// ```swift
/// let accept = AcceptHeader(parsing: "image/*;q=0.5, application/json")
/// accept.quality(of: "image/png")        // 0.5
/// accept.quality(of: "application/json") // 1.0
/// accept.quality(of: "text/html")        // 0.0
/// ```
public struct AcceptHeader: Sendable, Equatable {
    /// One media range: `type/subtype` (either may be `*`) and its quality.
    public struct MediaRange: Sendable, Equatable {
        public let type: String
        public let subtype: String
        public let quality: Double

        public init(type: String, subtype: String, quality: Double) {
            self.type = type
            self.subtype = subtype
            self.quality = quality
        }
    }

    public let ranges: [MediaRange]

    public init(parsing value: String) {
        var ranges: [MediaRange] = []
        // Split on the bytes ',' and '/', not on Characters: a comma followed by a combining mark is one
        // grapheme cluster, and a header's structure is ASCII whatever else it holds.
        for element in value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
            let media = MediaType(parsing: String(decoding: element, as: UTF8.self))
            let pieces = media.type.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty else { continue }
            let (type, subtype) = (String(decoding: pieces[0], as: UTF8.self), String(decoding: pieces[1], as: UTF8.self))
            guard type != "*" || subtype == "*" else { continue }  // "*/json" is not a range
            var quality = 1.0
            if let q = media.parameters["q"] {
                guard q.utf8.count <= 5, let parsed = Double(q), parsed >= 0, parsed <= 1 else { continue }
                quality = parsed
            }
            ranges.append(MediaRange(type: type, subtype: subtype, quality: quality))
        }
        self.ranges = ranges
    }

    /// The quality given to `mediaType` (`type/subtype`, lowercase) by its most specific matching range. Types
    /// compare byte for byte (header tokens are ASCII; Unicode equivalence has no say in them).
    public func quality(of mediaType: String) -> Double {
        let pieces = mediaType.utf8.split(separator: UInt8(ascii: "/"), maxSplits: 1, omittingEmptySubsequences: false)
        guard pieces.count == 2 else { return 0 }
        let (type, subtype) = (pieces[0], pieces[1])
        let star = "*".utf8
        var best: (specificity: Int, quality: Double) = (-1, 0)
        for range in ranges {
            let sameType = range.type.utf8.elementsEqual(type), sameSubtype = range.subtype.utf8.elementsEqual(subtype)
            let specificity: Int
            if sameType && sameSubtype { specificity = 2 }
            else if sameType && range.subtype.utf8.elementsEqual(star) { specificity = 1 }
            else if range.type.utf8.elementsEqual(star) && range.subtype.utf8.elementsEqual(star) { specificity = 0 }
            else { continue }
            if specificity > best.specificity || (specificity == best.specificity && range.quality > best.quality) {
                best = (specificity, range.quality)
            }
        }
        return best.quality
    }
}
