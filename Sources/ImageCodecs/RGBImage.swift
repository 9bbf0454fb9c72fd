/// An 8-bit RGB image: the one pixel format every decoder in this module produces.
///
/// Pixels are interleaved and row-major — the layout of a NumPy `(H, W, 3)` `uint8`
/// array — so index `(y, x, channel)` lives at `(y * width + x) * 3 + channel`.
///
/// ```swift
/// var image = RGBImage(width: 2, height: 1, pixels: [255, 0, 0,  0, 0, 255])
/// image.pixels[1] = 128            // green channel of pixel (0, 0)
/// let red = image.pixels[(0 * image.width + 1) * 3]  // red channel of pixel (0, 1)
/// ```
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// (H, W, 3) interleaved 8-bit RGB, row-major.
    public var pixels: [UInt8]

    /// - Precondition: `width >= 0`, `height >= 0` and `pixels.count == width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "RGBImage dimensions must be non-negative, got \(width)×\(height)")
        precondition(pixels.count == width * height * 3,
                     "RGBImage \(width)×\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
