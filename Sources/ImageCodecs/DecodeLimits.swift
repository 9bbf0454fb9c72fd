/// Resource limits applied while decoding untrusted images.
///
/// Every limit is checked against the file *header*, before any pixel memory is allocated
/// or any JPEG scan decoded: a 100-byte PNG that declares 100000×100000 pixels is refused
/// cheaply with ``ImageCodecError/tooLarge(width:height:maxPixels:)``, and a caller that can
/// only use one size (the service's 150×150 patches) refuses every other size with
/// ``ImageCodecError/wrongSize(width:height:required:)`` at no decoding cost.
///
/// ```swift
/// let thumbnailsOnly = DecodeLimits(maxPixels: 512 * 512)
/// let image = try ImageDecoder.decode(bytes, limits: thumbnailsOnly)
/// let patch = try ImageDecoder.decode(upload, limits: .exactly(width: 150, height: 150))
/// ```
public struct DecodeLimits: Sendable, Equatable {
    /// Largest accepted `width * height`. The default, 4096 × 4096 (48 MiB of RGB),
    /// comfortably covers whole-slide tiles. Zero or negative refuses every image.
    public var maxPixels: Int
    /// The only size accepted, or nil for any size within ``maxPixels``. A size no image
    /// can have (zero, negative, above 2³²−1) refuses every image.
    public var requiredSize: ImageSize?
    /// Most scans a JPEG may have. A progressive scan re-walks the whole image, so a small
    /// file with hundreds of scans is a CPU bomb; real encoders write about 10 (libjpeg's
    /// default progression has 10, baseline has 1 to 3). Zero or negative refuses every JPEG.
    public var maxJPEGScans: Int

    public static let defaultMaxJPEGScans = 32

    public init(maxPixels: Int = 4096 * 4096, requiredSize: ImageSize? = nil,
                maxJPEGScans: Int = DecodeLimits.defaultMaxJPEGScans) {
        self.maxPixels = maxPixels
        self.requiredSize = requiredSize
        self.maxJPEGScans = maxJPEGScans
    }

    /// Accepts only `width`×`height` images (other limits at their defaults).
    public static func exactly(width: Int, height: Int) -> DecodeLimits {
        DecodeLimits(requiredSize: ImageSize(width: width, height: height))
    }
}
