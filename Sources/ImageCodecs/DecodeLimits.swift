/// Resource limits applied while decoding untrusted images.
///
/// The limit is checked against the dimensions in the file *header*, before any pixel
/// memory is allocated, so a 100-byte PNG that declares 100000×100000 pixels is refused
/// cheaply with ``ImageCodecError/tooLarge(width:height:maxPixels:)``.
///
/// ```swift
/// let thumbnailsOnly = DecodeLimits(maxPixels: 512 * 512)
/// let image = try ImageDecoder.decode(bytes, limits: thumbnailsOnly)
/// ```
public struct DecodeLimits: Sendable, Equatable {
    /// Largest accepted `width * height`. The default, 4096 × 4096 (48 MiB of RGB),
    /// comfortably covers whole-slide tiles. Zero or negative refuses every image.
    public var maxPixels: Int

    public init(maxPixels: Int = 4096 * 4096) {
        self.maxPixels = maxPixels
    }
}
