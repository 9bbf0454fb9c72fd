import CCodecShims

/// PNG → 8-bit RGB through libpng (see `hae_png_decode_rgb8` in hae_codecs.h).
///
/// Every PNG flavour is normalised the same way, matching what the training pipeline
/// computes with PIL/NumPy:
/// - 1/2/4-bit gray and palettes are expanded; gray is replicated to R = G = B.
/// - 16-bit samples become 8-bit with rounding, `v8 = (v16 * 255 + 32767) / 65535`
///   (libpng's `png_set_scale_16`, not the truncating `>> 8`).
/// - Alpha — an alpha channel or tRNS transparency — is composited on **white** with
///   `out = (c * a + 255 * (255 - a) + 127) / 255` in integers (16-bit alpha is scaled
///   to 8 bits first). Fully transparent pixels therefore become pure white.
/// - Adam7 interlacing is undone.
/// - `gAMA`, `cHRM`, `sRGB`, `iCCP` and `sBIT` are ignored: no colour management, like PIL.
///   Every ancillary chunk but `tRNS` (text, `iCCP`, `eXIf`, unknown chunks) is skipped
///   unread: compressed text is a zlib bomb per chunk, and libpng's own memory is capped.
/// - A file that ends early, a bad CRC in a critical chunk, or a bad IHDR is
///   ``ImageCodecError/corrupt(format:reason:)``; the whole file, through IEND, must be present.
enum PNGDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, limits: DecodeLimits) throws(ImageCodecError) -> RGBImage {
        try ShimDecoding.decode(bytes, as: .png, limits: limits, using: hae_png_decode_rgb8)
    }

    /// As ``decode(_:limits:)``, also reporting the most memory libpng held at once. For tests.
    static func decode(_ bytes: UnsafeRawBufferPointer, limits: DecodeLimits,
                       libraryPeakBytes: inout Int) throws(ImageCodecError) -> RGBImage {
        try ShimDecoding.decode(bytes, as: .png, limits: limits, using: hae_png_decode_rgb8,
                                libraryPeakBytes: &libraryPeakBytes)
    }
}
