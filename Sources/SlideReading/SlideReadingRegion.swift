import COpenSlide
import ImageCodecs

extension Slide {
    /// Largest region one ``read(region:level:)`` allocates by default: 4096 × 4096 pixels (64 MiB of ARGB
    /// plus 48 MiB of RGB). Tiles and thumbnail bands are far smaller; whole levels are never read.
    public static let maxRegionPixels = 4096 * 4096

    /// Reads `region` of `level` as 8-bit RGB composited on white (OpenSlide's transparent pixels — outside
    /// the scanned area or past the slide's edge — come out white, like the glass).
    ///
    /// Sizes are checked with overflow-checked arithmetic against `maxPixels` before any allocation.
    ///
    /// ```swift
    /// let tile = try slide.read(region: SlideRegion(x: 1024, y: 512, width: 150, height: 150), level: 0)
    /// ```
    ///
    /// - Throws: ``SlideError/invalidRequest(_:)`` for a level out of range, an empty or oversized region, or
    ///   an origin outside level 0; ``SlideError/readFailed(path:reason:)`` with OpenSlide's message.
    public func read(region: SlideRegion, level: Int, maxPixels: Int = Slide.maxRegionPixels) throws(SlideError)
        -> RGBImage {
        let count = try checkedPixelCount(region, level: level, maxPixels: maxPixels)
        var argb = [UInt32](repeating: 0, count: count)
        try readARGB(region, level: level, into: &argb)
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for index in 0..<count {
            let pixel = Self.compositedOnWhite(argb[index])
            rgb[index * 3] = pixel.r
            rgb[index * 3 + 1] = pixel.g
            rgb[index * 3 + 2] = pixel.b
        }
        return RGBImage(width: region.width, height: region.height, pixels: rgb)
    }

    /// The region's pixel count, or why it is refused (level, sizes, origin, limit), before allocating.
    func checkedPixelCount(_ region: SlideRegion, level: Int, maxPixels: Int) throws(SlideError) -> Int {
        guard levels.indices.contains(level) else {
            throw .invalidRequest("level \(level) does not exist (the slide has \(levels.count))")
        }
        guard region.width > 0, region.height > 0 else {
            throw .invalidRequest("region \(region.width)×\(region.height) is empty")
        }
        let (count, overflow) = region.width.multipliedReportingOverflow(by: region.height)
        guard !overflow, count <= maxPixels else {
            throw .invalidRequest("region \(region.width)×\(region.height) exceeds the \(maxPixels)-pixel limit")
        }
        guard (0..<level0.width).contains(region.x), (0..<level0.height).contains(region.y) else {
            throw .invalidRequest("region origin (\(region.x), \(region.y)) lies outside the "
                                  + "\(level0.width)×\(level0.height) slide")
        }
        return count
    }

    /// OpenSlide's premultiplied ARGB for a checked region (``checkedPixelCount(_:level:maxPixels:)``) into
    /// `buffer`, which holds at least that many pixels.
    func readARGB(_ region: SlideRegion, level: Int, into buffer: inout [UInt32]) throws(SlideError) {
        precondition(buffer.count >= region.width * region.height, "ARGB buffer too small for the region")
        buffer.withUnsafeMutableBufferPointer { pixels in
            openslide_read_region(handle, pixels.baseAddress!, Int64(region.x), Int64(region.y), Int32(level),
                                  Int64(region.width), Int64(region.height))
        }
        if let message = openslide_get_error(handle) {
            throw .readFailed(path: path, reason: SlideError.oneLine(String(cString: message)))
        }
    }

    /// Premultiplied ARGB over white: `c + (255 − a)` per channel (the premultiplied colour plus white times
    /// the transparency), clamped for malformed data where a channel exceeds alpha.
    @inline(__always)
    static func compositedOnWhite(_ argb: UInt32) -> (r: UInt8, g: UInt8, b: UInt8) {
        let transparency = 255 - (argb >> 24)
        let r = min(255, (argb >> 16 & 0xFF) + transparency)
        let g = min(255, (argb >> 8 & 0xFF) + transparency)
        let b = min(255, (argb & 0xFF) + transparency)
        return (UInt8(r), UInt8(g), UInt8(b))
    }
}
