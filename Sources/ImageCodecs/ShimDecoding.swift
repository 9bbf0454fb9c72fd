import CCodecShims

/// Signature shared by `hae_png_decode_rgb8` and `hae_jpeg_decode_rgb8` (hae_codecs.h).
typealias ShimDecodeFunction = (
    _ data: UnsafePointer<UInt8>?, _ size: Int, _ maxPixels: UInt64, _ out: UnsafeMutablePointer<hae_image>?,
    _ message: UnsafeMutablePointer<CChar>?, _ messageCapacity: Int
) -> hae_status

/// Calls one of the C decoders and turns its status + message into an ``RGBImage`` or an
/// ``ImageCodecError``. The C side owns all setjmp/longjmp handling; here we only copy the
/// malloc'd pixels into a Swift array and free them.
enum ShimDecoding {
    static func decode(_ bytes: UnsafeRawBufferPointer, as format: ImageFormat, limits: DecodeLimits,
                       using decodeFunction: ShimDecodeFunction) throws(ImageCodecError) -> RGBImage {
        var image = hae_image()
        var message = [CChar](repeating: 0, count: Int(HAE_MESSAGE_CAPACITY))
        let maxPixels = UInt64(clamping: limits.maxPixels)  // negative → 0 → refuse everything
        let status = bytes.withMemoryRebound(to: UInt8.self) { data in
            message.withUnsafeMutableBufferPointer { text in
                decodeFunction(data.baseAddress, data.count, maxPixels, &image, text.baseAddress, text.count)
            }
        }
        defer { hae_free(image.pixels) }

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

extension String {
    /// Decodes a NUL-terminated C message buffer, repairing any invalid UTF-8.
    init(shimMessage buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
