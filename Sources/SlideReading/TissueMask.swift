import ImageCodecs

/// Where the tissue is on a slide, at thumbnail resolution (``TissueDetection`` says how it is told from glass):
/// one byte per thumbnail pixel, 1 for tissue. ``tissueFraction(level0X:level0Y:level0Width:level0Height:)``
/// answers how much of a level-0 rectangle — a tile — is tissue.
///
/// ```swift
/// let mask = try TissueMask.detect(in: slide, slideMPP: scan.slideMPP)
/// print(mask.width, mask.height, mask.tissueArea)        // e.g. 139 186 0.38
/// let fraction = mask.tissueFraction(level0X: 1024, level0Y: 0, level0Width: 150, level0Height: 150)
/// ```
public struct TissueMask: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// µm per mask pixel.
    public let micronsPerPixel: Double
    /// Level-0 pixels per mask pixel.
    public let level0PixelsPerPixel: Double
    /// Row-major, 1 = tissue, 0 = glass.
    public let pixels: [UInt8]

    /// Detects the tissue of `slide` whose level 0 measures `slideMPP` µm/px: reads a thumbnail at
    /// `options.micronsPerPixel` (coarser if the slide is so large the thumbnail would exceed
    /// `options.maxPixels`) from the lowest-resolution level that is at least that fine, then classifies it.
    public static func detect(in slide: Slide, slideMPP: Double, options: TissueDetection = TissueDetection())
        throws(SlideError) -> TissueMask {
        guard slideMPP.isFinite, slideMPP > 0, options.micronsPerPixel.isFinite, options.micronsPerPixel > 0,
              options.maxPixels > 0 else {
            throw .invalidRequest("tissue detection needs positive µm/px and pixel limits")
        }
        let level0 = slide.level0
        // Coarsen until the thumbnail fits: area scales with the square of the pixel's side.
        let level0Area = Double(level0.width) * Double(level0.height) * slideMPP * slideMPP
        var micronsPerPixel = max(options.micronsPerPixel, slideMPP)
        if level0Area / (micronsPerPixel * micronsPerPixel) > Double(options.maxPixels) {
            micronsPerPixel = (level0Area / Double(options.maxPixels)).squareRoot() * 1.001
        }
        let level = SlideThumbnail.sourceLevel(of: slide, slideMPP: slideMPP, micronsPerPixel: micronsPerPixel)
        let levelMPP = slideMPP * level.downsample
        let thumbnail = try SlideThumbnail.read(slide, level: level.index, levelMPP: levelMPP,
                                                micronsPerPixel: micronsPerPixel)
        // The thumbnail's pixel is rounded to whole level pixels' bins: its true size follows from its width.
        let level0PerPixel = Double(level0.width) / Double(thumbnail.width)
        return TissueMask(thumbnail: thumbnail, level0PixelsPerPixel: level0PerPixel,
                          micronsPerPixel: level0PerPixel * slideMPP, options: options)
    }

    /// Classifies a thumbnail: the per-pixel rule, then opening, closing and hole filling (``TissueDetection``).
    public init(thumbnail: RGBImage, level0PixelsPerPixel: Double, micronsPerPixel: Double,
                options: TissueDetection = TissueDetection()) {
        width = thumbnail.width
        height = thumbnail.height
        self.micronsPerPixel = micronsPerPixel
        self.level0PixelsPerPixel = level0PixelsPerPixel
        var mask = [UInt8](repeating: 0, count: width * height)
        let rgb = thumbnail.pixels
        for index in mask.indices {
            mask[index] = options.isTissue(r: rgb[index * 3], g: rgb[index * 3 + 1], b: rgb[index * 3 + 2]) ? 1 : 0
        }
        BinaryMorphology.open(&mask, width: width, height: height,
                              radius: options.radius(options.openingMicrons, at: micronsPerPixel))
        BinaryMorphology.close(&mask, width: width, height: height,
                               radius: options.radius(options.closingMicrons, at: micronsPerPixel))
        let holePixels = options.maxHoleSquareMicrons / (micronsPerPixel * micronsPerPixel)
        BinaryMorphology.fillHoles(&mask, width: width, height: height, maxArea: Int(min(holePixels, 1e9)))
        pixels = mask
    }

    /// The fraction of the whole mask that is tissue.
    public var tissueArea: Double {
        pixels.isEmpty ? 0 : Double(pixels.reduce(0) { $0 + Int($1) }) / Double(pixels.count)
    }

    /// The fraction of mask pixels whose centres fall in the level-0 rectangle that are tissue; a rectangle
    /// smaller than one mask pixel takes the pixel under its centre. 0 outside the mask.
    public func tissueFraction(level0X: Int, level0Y: Int, level0Width: Int, level0Height: Int) -> Double {
        let scale = level0PixelsPerPixel
        func span(_ origin: Int, _ length: Int, _ limit: Int) -> Range<Int> {
            // Pixel i's centre is at (i + 0.5)·scale in level-0 pixels.
            var first = Int((Double(origin) / scale - 0.5).rounded(.up))
            var end = Int((Double(origin + length) / scale - 0.5).rounded(.up))
            if end <= first {
                first = Int((Double(origin) + Double(length) / 2) / scale)
                end = first + 1
            }
            let upper = min(limit, max(0, end))
            return min(max(0, first), upper)..<upper
        }
        let columns = span(level0X, level0Width, width), rows = span(level0Y, level0Height, height)
        guard !columns.isEmpty, !rows.isEmpty else { return 0 }
        var tissue = 0
        for row in rows {
            for column in columns { tissue += Int(pixels[row * width + column]) }
        }
        return Double(tissue) / Double(columns.count * rows.count)
    }
}
