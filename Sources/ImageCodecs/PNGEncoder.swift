import CCodecShims

/// Writes 8-bit PNGs (non-interlaced, libpng's default adaptive filtering) in memory.
///
/// Decoding the result with ``ImageDecoder`` gives back exactly the same pixels.
///
/// ```swift
/// let mask = RGBImage(width: 64, height: 64, pixels: [UInt8](repeating: 200, count: 64 * 64 * 3))
/// let png: [UInt8] = try PNGEncoder.encode(mask)
/// let heatmap = try PNGEncoder.encodeGray(width: 64, height: 64, pixels: scores, compressionLevel: 1)
/// ```
///
/// Failures (zero-sized images, a pixel count that does not match the dimensions, a
/// libpng write error) throw ``ImageCodecError/unsupported(format:reason:)`` with `.png`.
public enum PNGEncoder {
    /// 8-bit RGB PNG.
    ///
    /// - Parameter compressionLevel: zlib level, clamped to 0 (store) ... 9 (smallest).
    ///   6 is zlib's balance of size and speed.
    public static func encode(_ image: RGBImage, compressionLevel: Int = 6) throws(ImageCodecError) -> [UInt8] {
        try encode(pixels: image.pixels, width: image.width, height: image.height, channels: 3,
                   compressionLevel: compressionLevel)
    }

    /// 8-bit grayscale PNG from (H, W) bytes.
    ///
    /// - Parameters:
    ///   - pixels: `width * height` bytes, row-major.
    ///   - compressionLevel: zlib level, clamped to 0 ... 9.
    public static func encodeGray(width: Int, height: Int, pixels: [UInt8], compressionLevel: Int = 6) throws(ImageCodecError) -> [UInt8] {
        try encode(pixels: pixels, width: width, height: height, channels: 1, compressionLevel: compressionLevel)
    }

    private static func encode(pixels: [UInt8], width: Int, height: Int, channels: Int,
                               compressionLevel: Int) throws(ImageCodecError) -> [UInt8] {
        // PNG stores dimensions as 31-bit unsigned integers and forbids zero.
        guard (1...Int(Int32.max)).contains(width), (1...Int(Int32.max)).contains(height) else {
            throw .unsupported(format: .png, reason: "dimensions must be 1...\(Int32.max), got \(width)×\(height)")
        }
        let (pixelCount, overflow1) = width.multipliedReportingOverflow(by: height)
        let (byteCount, overflow2) = pixelCount.multipliedReportingOverflow(by: channels)
        guard !overflow1, !overflow2, pixels.count == byteCount else {
            throw .unsupported(format: .png, reason: "\(width)×\(height)×\(channels) needs "
                               + (overflow1 || overflow2 ? "more bytes than fit in Int" : "\(byteCount) bytes")
                               + ", got \(pixels.count)")
        }

        var output: UnsafeMutablePointer<UInt8>?
        var outputSize = 0
        var message = [CChar](repeating: 0, count: Int(HAE_MESSAGE_CAPACITY))
        let status = pixels.withUnsafeBufferPointer { source in
            message.withUnsafeMutableBufferPointer { text in
                hae_png_encode(source.baseAddress, UInt32(width), UInt32(height), Int32(channels),
                               Int32(clamping: compressionLevel), &output, &outputSize, text.baseAddress, text.count)
            }
        }
        defer { hae_free(output) }
        guard status == HAE_OK, let output else {
            throw .unsupported(format: .png, reason: String(shimMessage: message))
        }
        return Array(UnsafeBufferPointer(start: output, count: outputSize))
    }
}
