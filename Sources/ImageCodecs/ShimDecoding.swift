import CCodecShims

/// Signature shared by `hae_png_decode_rgb8` and `hae_jpeg_decode_rgb8` (hae_codecs.h).
typealias ShimDecodeFunction = (
    _ data: UnsafePointer<UInt8>?, _ size: Int, _ limits: UnsafePointer<hae_decode_limits>?,
    _ out: UnsafeMutablePointer<hae_image>?, _ message: UnsafeMutablePointer<CChar>?, _ messageCapacity: Int
) -> hae_status

/// Calls one of the C decoders and turns its status + message into an ``RGBImage`` or an
/// ``ImageCodecError``. The C side owns all setjmp/longjmp handling; here we only copy the
/// malloc'd pixels into a Swift array and free them.
enum ShimDecoding {
    static func decode(_ bytes: UnsafeRawBufferPointer, as format: ImageFormat, limits: DecodeLimits,
                       using decodeFunction: ShimDecodeFunction) throws(ImageCodecError) -> RGBImage {
        var libraryPeakBytes = 0
        return try decode(bytes, as: format, limits: limits, using: decodeFunction, libraryPeakBytes: &libraryPeakBytes)
    }

    /// As above, also reporting the most memory the C library held at once (PNG only; see
    /// `hae_image.library_peak_bytes`), whether or not the decode succeeded. For tests.
    static func decode(_ bytes: UnsafeRawBufferPointer, as format: ImageFormat, limits: DecodeLimits,
                       using decodeFunction: ShimDecodeFunction,
                       libraryPeakBytes: inout Int) throws(ImageCodecError) -> RGBImage {
        var image = hae_image()
        var message = [CChar](repeating: 0, count: Int(HAE_MESSAGE_CAPACITY))
        var shimLimits = limits.shimLimits
        let status = bytes.withMemoryRebound(to: UInt8.self) { data in
            message.withUnsafeMutableBufferPointer { text in
                decodeFunction(data.baseAddress, data.count, &shimLimits, &image, text.baseAddress, text.count)
            }
        }
        defer { hae_free(image.pixels) }
        libraryPeakBytes = image.library_peak_bytes

        let width = Int(image.width), height = Int(image.height)
        switch status {
        case HAE_OK:
            guard let pixels = image.pixels else {
                throw .corrupt(format: format, reason: "decoder returned no pixels")
            }
            let rgb = Array(UnsafeBufferPointer(start: pixels, count: width * height * 3))
            return RGBImage(width: width, height: height, pixels: rgb)
        case HAE_TOO_LARGE:
            throw .tooLarge(width: width, height: height, maxPixels: limits.maxPixels)
        case HAE_WRONG_SIZE:
            // Only reachable with a required size (the C side never reports it otherwise).
            throw .wrongSize(width: width, height: height,
                             required: limits.requiredSize ?? ImageSize(width: 0, height: 0))
        case HAE_UNSUPPORTED:
            throw .unsupported(format: format, reason: String(shimMessage: message))
        case HAE_OUT_OF_MEMORY:
            // No dedicated case in the public API: the image is not decodable *here*.
            throw .unsupported(format: format, reason: "out of memory: \(String(shimMessage: message))")
        default:  // HAE_CORRUPT, and HAE_INVALID_ARGUMENT which our calls never trigger
            throw .corrupt(format: format, reason: String(shimMessage: message))
        }
    }
}

extension DecodeLimits {
    /// The C shims' form: 0 means "any size" for the required dimensions, so a required size
    /// no image can have (≤ 0 or beyond UInt32) becomes UInt32.max, which no PNG (2³¹−1 at
    /// most) or JPEG (65535) can match.
    var shimLimits: hae_decode_limits {
        func dimension(_ value: Int?) -> UInt32 {
            guard let value else { return 0 }
            return value > 0 ? UInt32(exactly: value) ?? .max : .max
        }
        return hae_decode_limits(max_pixels: UInt64(clamping: maxPixels),  // negative → 0 → refuse everything
                                 required_width: dimension(requiredSize?.width),
                                 required_height: dimension(requiredSize?.height),
                                 max_scans: UInt32(clamping: maxJPEGScans))
    }
}

extension String {
    /// Decodes a NUL-terminated C message buffer, repairing any invalid UTF-8.
    init(shimMessage buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
