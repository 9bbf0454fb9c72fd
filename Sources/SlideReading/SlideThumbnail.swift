import ImageCodecs

/// A slide reduced to `micronsPerPixel` (a few µm/px) for tissue detection, read from `level` — the
/// lowest-resolution level still at least as fine — by area averaging: each thumbnail pixel is the mean of the
/// level pixels whose position maps into it. The level is read in bands of at most ``bandRows`` rows and
/// ``chunkColumns`` columns, and only the thumbnail rows a band touches are accumulated, so memory is the
/// thumbnail plus one band, whatever the level's size (no whole level is ever in memory).
///
/// ```swift
/// let thumbnail = try SlideThumbnail.read(slide, level: 2, levelMPP: 4.0, micronsPerPixel: 8.0)
/// let overview = try SlideThumbnail.read(slide, slideMPP: 0.499, micronsPerPixel: 2.0)   // level chosen
/// ```
public enum SlideThumbnail {
    static let bandRows = 256
    static let chunkColumns = 4096
    /// Level pixels per thumbnail pixel beyond which UInt32 sums could overflow (4096² × 255 < 2³²).
    static let maxReduction = 4000.0

    /// The level a thumbnail at `micronsPerPixel` is read from: the coarsest level still at least as fine
    /// (level 0 always is), so the fewest pixels are decoded.
    public static func sourceLevel(of slide: Slide, slideMPP: Double, micronsPerPixel: Double) -> SlideLevel {
        slide.levels.last { slideMPP * $0.downsample <= micronsPerPixel } ?? slide.level0
    }

    /// The slide reduced to `micronsPerPixel` (at least `slideMPP`), read from ``sourceLevel(of:slideMPP:micronsPerPixel:)``.
    public static func read(_ slide: Slide, slideMPP: Double, micronsPerPixel: Double) throws(SlideError) -> RGBImage {
        let level = sourceLevel(of: slide, slideMPP: slideMPP, micronsPerPixel: micronsPerPixel)
        return try read(slide, level: level.index, levelMPP: slideMPP * level.downsample,
                        micronsPerPixel: max(micronsPerPixel, slideMPP))
    }

    /// - Throws: ``SlideError/invalidRequest(_:)`` when the level cannot be reduced to that scale (finer than the
    ///   level, or more than ``maxReduction`` level pixels per thumbnail pixel); OpenSlide's read errors.
    public static func read(_ slide: Slide, level: Int, levelMPP: Double, micronsPerPixel: Double) throws(SlideError)
        -> RGBImage {
        let source = slide.levels[level]
        let scale = levelMPP / micronsPerPixel   // thumbnail pixels per level pixel, ≤ 1
        guard scale > 0, scale <= 1, 1 / scale <= maxReduction else {
            throw .invalidRequest("cannot reduce level \(level) (\(levelMPP) µm/px) to \(micronsPerPixel) µm/px")
        }
        let width = max(1, Int((Double(source.width) * scale).rounded(.up)))
        let height = max(1, Int((Double(source.height) * scale).rounded(.up)))
        func bin(_ position: Int, _ limit: Int) -> Int { min(limit - 1, Int(Double(position) * scale)) }
        let columnBins = (0..<source.width).map { Int32(bin($0, width)) }

        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        // Sums (r, g, b, count) of the open thumbnail rows, from `firstOpen`.
        var sums = [UInt32]()
        var firstOpen = 0
        var argb = [UInt32](repeating: 0, count: bandRows * min(chunkColumns, source.width))
        var y = 0
        while y < source.height {
            let rows = min(bandRows, source.height - y)
            let lastBin = bin(y + rows - 1, height)
            let needed = (lastBin - firstOpen + 1) * width * 4
            if sums.count < needed { sums.append(contentsOf: repeatElement(0, count: needed - sums.count)) }
            var x = 0
            while x < source.width {
                let columns = min(chunkColumns, source.width - x)
                // Level-0 origin of this band (OpenSlide's convention); the size is in level pixels.
                let region = SlideRegion(x: Int(Double(x) * source.downsample), y: Int(Double(y) * source.downsample),
                                         width: columns, height: rows)
                try slide.readARGB(region, level: level, into: &argb)
                for row in 0..<rows {
                    let base = (bin(y + row, height) - firstOpen) * width * 4
                    for column in 0..<columns {
                        let pixel = Slide.compositedOnWhite(argb[row * columns + column])
                        let at = base + Int(columnBins[x + column]) * 4
                        sums[at] &+= UInt32(pixel.r)
                        sums[at + 1] &+= UInt32(pixel.g)
                        sums[at + 2] &+= UInt32(pixel.b)
                        sums[at + 3] &+= 1
                    }
                }
                x += columns
            }
            y += rows
            // Rows before the next band's first bin are complete: write them out and drop their sums.
            let complete = y < source.height ? bin(y, height) : lastBin + 1
            for thumbnailRow in firstOpen..<complete {
                let base = (thumbnailRow - firstOpen) * width * 4
                for column in 0..<width {
                    let count = sums[base + column * 4 + 3]
                    guard count > 0 else { continue }
                    for channel in 0..<3 {
                        let mean = (sums[base + column * 4 + channel] + count / 2) / count
                        pixels[(thumbnailRow * width + column) * 3 + channel] = UInt8(min(255, mean))
                    }
                }
            }
            sums.removeFirst(min(sums.count, (complete - firstOpen) * width * 4))
            firstOpen = complete
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
