import ImageCodecs
import SlideReading

/// Renders one Deep Zoom tile of a slide: the tile's rectangle (``DeepZoomGeometry/TileRect``) read from the
/// coarsest OpenSlide level still at least as fine as the Deep Zoom level, then area-averaged (or, at the finest
/// Deep Zoom level of a slide whose level 0 is coarser, interpolated) to the tile's size.
///
/// A read is bounded: one whose level pixels exceed ``directReadPixels`` (a coarse Deep Zoom level of a slide
/// without a pyramid) reduces the whole OpenSlide level in bands instead (``SlideThumbnail``: memory is the
/// reduced level plus one band), and a reduced level larger than ``maxReducedPixels`` is refused.
///
/// ```swift
/// let pyramid = DeepZoomGeometry(width: slide.level0.width, height: slide.level0.height)
/// let rect = pyramid.tile(level: pyramid.maxLevel, column: 0, row: 0)!
/// let png = try PNGEncoder.encode(try DeepZoomTiles.render(slide, rect))
/// ```
enum DeepZoomTiles {
    /// Most level pixels one tile reads directly (2048² ARGB: 16 MiB).
    static let directReadPixels = 2048 * 2048
    /// Most pixels of a whole reduced level (a coarse Deep Zoom level of a slide without a pyramid).
    static let maxReducedPixels = 4096 * 4096

    /// The coarsest level whose downsample is at most `scale` level-0 pixels per tile pixel (level 0 always is).
    static func sourceLevel(_ levels: [SlideLevel], scale: Int) -> SlideLevel {
        levels.last { $0.downsample <= Double(scale) * 1.0001 } ?? levels[0]
    }

    static func render(_ slide: Slide, _ rect: DeepZoomGeometry.TileRect) throws(SlideError) -> RGBImage {
        let level = sourceLevel(slide.levels, scale: rect.scale)
        let scale = Double(rect.scale)
        // Level-0 origin; the tile lies inside level 0 because the pyramid was laid over its size.
        let (x0, overflowX) = rect.x.multipliedReportingOverflow(by: rect.scale)
        let (y0, overflowY) = rect.y.multipliedReportingOverflow(by: rect.scale)
        guard !overflowX, !overflowY, x0 < slide.level0.width, y0 < slide.level0.height else {
            throw .invalidRequest("tile origin (\(rect.x), \(rect.y)) × \(rect.scale) lies outside the slide")
        }
        // Level pixels covered, clamped to the slide's edge (past it OpenSlide would only give white).
        func covered(_ length: Int, _ origin: Int, _ level0Length: Int) -> Int {
            let wanted = (Double(length) * scale / level.downsample).rounded(.up)
            let available = (Double(level0Length - origin) / level.downsample).rounded(.up)
            return max(1, Int(min(wanted, available)))
        }
        let readWidth = covered(rect.width, x0, slide.level0.width)
        let readHeight = covered(rect.height, y0, slide.level0.height)
        let (pixels, overflow) = readWidth.multipliedReportingOverflow(by: readHeight)
        if !overflow, pixels <= directReadPixels {
            let read = try slide.read(region: SlideRegion(x: x0, y: y0, width: readWidth, height: readHeight),
                                      level: level.index, maxPixels: directReadPixels)
            return RGBResampling.resize(read, width: rect.width, height: rect.height)
        }
        return try fromReducedLevel(slide, level, rect)
    }

    /// The tile cut from the whole level reduced towards the Deep Zoom level's scale (at most 2000 level pixels
    /// per reduced pixel, within ``SlideThumbnail``'s sums), then resized to the tile.
    private static func fromReducedLevel(_ slide: Slide, _ level: SlideLevel, _ rect: DeepZoomGeometry.TileRect)
        throws(SlideError) -> RGBImage {
        let scale = Double(rect.scale)
        // Level-0 pixels per reduced pixel: no finer than the level (it may be a hair coarser than the Deep Zoom level).
        let reducedScale = max(level.downsample, min(scale, level.downsample * 2000))
        let reducedWidth = Double(slide.level0.width) / reducedScale, reducedHeight = Double(slide.level0.height) / reducedScale
        guard reducedWidth * reducedHeight <= Double(maxReducedPixels) else {
            throw .invalidRequest("this Deep Zoom level would reduce a \(level.width)×\(level.height) level "
                                  + "to more than \(maxReducedPixels) pixels; the slide has no coarser level")
        }
        // Downsamples stand in for µm/px: only their ratio matters to the reduction.
        let reduced = try SlideThumbnail.read(slide, level: level.index, levelMPP: level.downsample,
                                              micronsPerPixel: reducedScale)
        let factor = scale / reducedScale   // reduced pixels per tile pixel, ≥ 1
        let x = min(Int(Double(rect.x) * factor), reduced.width - 1), y = min(Int(Double(rect.y) * factor), reduced.height - 1)
        let width = max(1, min(Int((Double(rect.width) * factor).rounded(.up)), reduced.width - x))
        let height = max(1, min(Int((Double(rect.height) * factor).rounded(.up)), reduced.height - y))
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for row in 0..<height {
            let from = ((y + row) * reduced.width + x) * 3
            pixels.replaceSubrange(row * width * 3..<(row + 1) * width * 3,
                                   with: reduced.pixels[from..<from + width * 3])
        }
        return RGBResampling.resize(RGBImage(width: width, height: height, pixels: pixels),
                                    width: rect.width, height: rect.height)
    }
}
