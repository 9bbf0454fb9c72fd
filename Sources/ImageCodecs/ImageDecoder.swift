/// Decodes PNG and JPEG files, from untrusted sources, to ``RGBImage``.
///
/// The format is sniffed from the magic bytes (file names and MIME types are not
/// trusted). The image size is checked against ``DecodeLimits`` from the header, before
/// pixel memory is allocated or any JPEG scan decoded. Corrupt, truncated or hostile input
/// throws an ``ImageCodecError``; it never crashes the process or prints to stderr.
///
/// ```swift
/// let bytes = try [UInt8](Data(contentsOf: tileURL))
/// let tile = try ImageDecoder.decode(bytes, limits: DecodeLimits(maxPixels: 1024 * 1024))
/// print(tile.width, tile.height, tile.pixels.count)  // e.g. 224 224 150528
/// ```
///
/// Conversion rules (identical to the fixtures' NumPy reference, see
/// training/scripts/make_codec_fixtures.py):
/// - PNG: any bit depth / colour type / Adam7 → 8-bit RGB; 16-bit scaled with
///   `(v * 255 + 32767) / 65535`; alpha and tRNS composited on white with
///   `(c * a + 255 * (255 - a) + 127) / 255`; no gamma correction.
/// - JPEG: baseline or progressive; gray replicated; Adobe-style inverted CMYK/YCCK
///   converted like Pillow, `R = round(C * K / 255)` on the stored values.
public enum ImageDecoder {
    /// Decodes PNG or JPEG (sniffed) to 8-bit RGB.
    ///
    /// - Throws: ``ImageCodecError/empty``, ``ImageCodecError/unsupportedFormat``,
    ///   ``ImageCodecError/tooLarge(width:height:maxPixels:)``,
    ///   ``ImageCodecError/wrongSize(width:height:required:)``,
    ///   ``ImageCodecError/corrupt(format:reason:)`` or
    ///   ``ImageCodecError/unsupported(format:reason:)``.
    public static func decode(_ bytes: [UInt8], limits: DecodeLimits = DecodeLimits()) throws(ImageCodecError) -> RGBImage {
        // Array.withUnsafeBytes is `rethrows` (untyped), so carry the typed error out in a Result.
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(ImageCodecError) -> RGBImage in try decode(raw, limits: limits) }
        }
        return try result.get()
    }

    /// Decodes PNG or JPEG (sniffed) from borrowed memory, e.g. a memory-mapped file or
    /// a network buffer, without copying the encoded bytes.
    ///
    /// ```swift
    /// let image = try data.withUnsafeBytes { try ImageDecoder.decode($0) }
    /// ```
    public static func decode(_ bytes: UnsafeRawBufferPointer, limits: DecodeLimits = DecodeLimits()) throws(ImageCodecError) -> RGBImage {
        guard !bytes.isEmpty else { throw .empty }
        switch ImageFormat.sniff(bytes) {
        case .png: return try PNGDecoder.decode(bytes, limits: limits)
        case .jpeg: return try JPEGDecoder.decode(bytes, limits: limits)
        case nil: throw .unsupportedFormat
        }
    }
}
