import CCodecShims

/// JPEG → 8-bit RGB through libjpeg-turbo (see `hae_jpeg_decode_rgb8` in hae_codecs.h).
///
/// - Baseline and progressive; YCbCr and RGB decode straight to RGB with libjpeg's
///   defaults (accurate integer IDCT, fancy upsampling) — the same settings as Pillow.
/// - Grayscale is replicated to R = G = B.
/// - CMYK and YCCK are read as CMYK and converted the way Pillow does: 4-channel JPEGs
///   are assumed to follow the Adobe convention of storing *inverted* CMYK, so with the
///   stored values `R = round(C * K / 255)` (likewise G from M, B from Y).
/// - A truncated stream is ``ImageCodecError/corrupt(format:reason:)`` ("Premature end of
///   JPEG file") instead of libjpeg's default grey-padded image. Other libjpeg warnings
///   (e.g. extraneous bytes before a marker) are tolerated silently, as in Pillow.
/// - Files with more than ``DecodeLimits/maxJPEGScans`` scans (default 32) are refused as
///   corrupt before the next scan is decoded (CPU-bomb guard).
enum JPEGDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, limits: DecodeLimits) throws(ImageCodecError) -> RGBImage {
        try ShimDecoding.decode(bytes, as: .jpeg, limits: limits, using: hae_jpeg_decode_rgb8)
    }
}
