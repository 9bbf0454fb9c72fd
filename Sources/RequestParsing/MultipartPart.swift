/// One part of a `multipart/form-data` body (RFC 7578): its header fields and where its content lies in the
/// body that was parsed. The content is not copied: ``content`` is a range of byte offsets into that body.
///
/// ```swift
/// let parts = try body.withUnsafeBytes { try MultipartReader.parse($0, boundary: "B") }
/// let disposition = parts[0].field("content-disposition").map(MediaType.init(parsing:))
/// print(disposition?.parameters["name"], parts[0].content)   // Optional("patch") 97..<4321
/// ```
public struct MultipartPart: Sendable, Equatable {
    /// Header fields in the order they came; names lowercased (they are ASCII tokens, checked).
    public let fields: [HeaderField]
    /// Byte offsets of the part's content in the parsed body.
    public let content: Range<Int>

    public init(fields: [HeaderField], content: Range<Int>) {
        self.fields = fields
        self.content = content
    }

    /// The value of the last field named `name` (lowercase), if any.
    public func field(_ name: String) -> String? {
        fields.last { $0.name == name }?.value
    }
}

/// One `name: value` header line of a part.
public struct HeaderField: Sendable, Equatable {
    /// Lowercased token (RFC 9110 §5.1): ASCII only, so no byte ≥ 0x80 can reach a lookup table.
    public let name: String
    /// The value without surrounding whitespace, decoded as UTF-8 (invalid sequences repaired).
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// What a multipart body may hold before it is refused; every bound applies before memory is spent on it.
public struct MultipartLimits: Sendable, Equatable {
    /// Most parts in one body.
    public var maxParts: Int
    /// Most bytes in one part's header section (its lines and the blank line ending it).
    public var maxHeaderBytesPerPart: Int
    /// Most header lines in one part.
    public var maxFieldsPerPart: Int

    /// - Parameters:
    ///   - maxParts: most parts in one body (e.g. the patch count limit).
    ///   - maxHeaderBytesPerPart: 8 KiB by default: a part needs `Content-Disposition` and `Content-Type`.
    ///   - maxFieldsPerPart: 32 by default.
    public init(maxParts: Int, maxHeaderBytesPerPart: Int = 8 * 1024, maxFieldsPerPart: Int = 32) {
        self.maxParts = maxParts
        self.maxHeaderBytesPerPart = maxHeaderBytesPerPart
        self.maxFieldsPerPart = maxFieldsPerPart
    }
}
