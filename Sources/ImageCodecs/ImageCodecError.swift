/// Why an image could not be decoded or encoded.
///
/// Every failure of the C libraries (libpng, libjpeg-turbo) is mapped to one of these
/// cases; they never crash or exit the process. ``description`` is a single readable line
/// suitable for logs and HTTP error bodies.
///
/// ```swift
/// do {
///     let image = try ImageDecoder.decode(upload)
/// } catch .tooLarge(let width, let height, _) {
///     print("refusing \(width)×\(height) upload")
/// } catch {
///     print(error)  // e.g. "PNG is corrupt or truncated: IDAT: CRC error"
/// }
/// ```
public enum ImageCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input had no bytes.
    case empty
    /// Neither PNG nor JPEG magic bytes.
    case unsupportedFormat
    /// The header declares more than `maxPixels` pixels; refused before allocating pixels.
    case tooLarge(width: Int, height: Int, maxPixels: Int)
    /// The header declares another size than ``DecodeLimits/requiredSize``; refused before
    /// allocating pixels or decoding any scan.
    case wrongSize(width: Int, height: Int, required: ImageSize)
    /// Truncated or corrupt data; `reason` is the libpng / libjpeg message.
    case corrupt(format: ImageFormat, reason: String)
    /// Well-formed but refused (e.g. an unknown JPEG colour space), or an encoder input
    /// that cannot be written (bad dimensions, pixel count mismatch).
    case unsupported(format: ImageFormat, reason: String)

    public var description: String {
        switch self {
        case .empty:
            return "image data is empty"
        case .unsupportedFormat:
            return "image data is neither PNG nor JPEG (unrecognised magic bytes)"
        case let .tooLarge(width, height, maxPixels):
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            let count = overflow ? "more than \(Int.max)" : "\(pixels)"
            return "image is \(width)×\(height) = \(count) pixels, more than the limit of \(maxPixels)"
        case let .wrongSize(width, height, required):
            return "\(required) required, image is \(width)×\(height)"
        case let .corrupt(format, reason):
            return "\(format.displayName) is corrupt or truncated: \(Self.oneLine(reason))"
        case let .unsupported(format, reason):
            return "\(format.displayName) is not supported: \(Self.oneLine(reason))"
        }
    }

    /// Library messages are short, but keep the "one line" promise regardless.
    private static func oneLine(_ text: String) -> String {
        let flattened = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flattened.isEmpty ? "unknown error" : flattened
    }
}
