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
        for element in value.split(separator: ",", omittingEmptySubsequences: true) {
            let media = MediaType(parsing: String(element))
            let pieces = media.type.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty else { continue }
            let (type, subtype) = (String(pieces[0]), String(pieces[1]))
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

    /// The quality given to `mediaType` (`type/subtype`, lowercase) by its most specific matching range.
    public func quality(of mediaType: String) -> Double {
        let pieces = mediaType.split(separator: "/", maxSplits: 1)
        guard pieces.count == 2 else { return 0 }
        let (type, subtype) = (String(pieces[0]), String(pieces[1]))
        var best: (specificity: Int, quality: Double) = (-1, 0)
        for range in ranges {
            let specificity: Int
            if range.type == type && range.subtype == subtype { specificity = 2 }
            else if range.type == type && range.subtype == "*" { specificity = 1 }
            else if range.type == "*" && range.subtype == "*" { specificity = 0 }
            else { continue }
            if specificity > best.specificity || (specificity == best.specificity && range.quality > best.quality) {
                best = (specificity, range.quality)
            }
        }
        return best.quality
    }
}
