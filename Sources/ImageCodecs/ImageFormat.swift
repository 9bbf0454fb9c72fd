/// The encoded image formats this module understands.
///
/// ```swift
/// let format = bytes.withUnsafeBytes { ImageFormat.sniff($0) }  // .png, .jpeg or nil
/// ```
public enum ImageFormat: String, Sendable {
    case png
    case jpeg

    private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// SOI marker followed by the first byte of the next marker.
    private static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// Sniffs magic bytes; nil if neither.
    ///
    /// Only the signature is checked (8 bytes for PNG, 3 for JPEG); whether the rest of
    /// the file is valid is the decoder's business. File extensions are never consulted.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.starts(with: pngSignature) { return .png }
        if bytes.starts(with: jpegSignature) { return .jpeg }
        return nil
    }

    /// "PNG" / "JPEG", for messages.
    var displayName: String {
        switch self {
        case .png: "PNG"
        case .jpeg: "JPEG"
        }
    }
}
