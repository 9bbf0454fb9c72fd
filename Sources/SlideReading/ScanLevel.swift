import Foundation

/// The pyramid level a slide is scanned at for a model trained at `targetMPP` µm/px (the card's `input.mpp`):
/// the level whose µm/px is closest to the target (nearest in ratio, the finer one on a tie). A level within
/// ``matchTolerance`` of the target is read as is; otherwise each tile is read at ``levelPixelsPerModelPixel``
/// times the patch size and resized to it (``RGBResampling``).
///
/// ```swift
/// let scan = try ScanLevel.choose(for: slide, targetMPP: 0.499)                    // uses openslide.mpp-x/y
/// let scan2 = try ScanLevel.choose(for: tcga, targetMPP: 0.499, slideMPP: 1.0)     // --slide-mpp 1.0
/// print(scan.level, scan.needsResize, scan.level0PixelsPerModelPixel)
/// ```
public struct ScanLevel: Sendable, Equatable {
    /// The level read.
    public let level: Int
    /// Its downsample (level-0 pixels per level pixel).
    public let downsample: Double
    /// Level-0 µm/px used: the file's, or the one given.
    public let slideMPP: Double
    /// µm/px of the chosen level: `slideMPP × downsample`.
    public let levelMPP: Double
    /// The model's µm/px.
    public let targetMPP: Double
    /// Level pixels per model pixel: exactly 1 when the level matches, otherwise `targetMPP / levelMPP`
    /// (> 1: read more and shrink; < 1: read less and enlarge).
    public let levelPixelsPerModelPixel: Double

    /// Relative difference of µm/px read as the same scale: Aperio 20× scanners report 0.49–0.51 µm/px for one
    /// nominal 0.5, a difference well inside a stain's or a focus's own variation.
    public static let matchTolerance = 0.05

    /// Whether tiles are resized to the model's scale.
    public var needsResize: Bool { levelPixelsPerModelPixel != 1 }
    /// Level-0 pixels per model pixel: how far a model-pixel step moves in level-0 coordinates.
    public var level0PixelsPerModelPixel: Double { levelPixelsPerModelPixel * downsample }

    /// Chooses the scan level of `slide`.
    ///
    /// - Parameter slideMPP: the slide's level-0 µm/px when given (`--slide-mpp`): it wins over the file's.
    /// - Throws: ``SlideError/noResolution(path:)`` when the slide has no usable `openslide.mpp-x/y` and no
    ///   `slideMPP` is given; ``SlideError/invalidRequest(_:)`` for a µm/px that is not a positive number.
    public static func choose(for slide: Slide, targetMPP: Double, slideMPP: Double? = nil) throws(SlideError)
        -> ScanLevel {
        if let slideMPP { try check(slideMPP, "the slide's µm/px") }
        guard let mpp = slideMPP ?? slide.micronsPerPixel else { throw .noResolution(path: slide.path) }
        return try choose(levels: slide.levels, slideMPP: mpp, targetMPP: targetMPP)
    }

    /// ``choose(for:targetMPP:slideMPP:)`` on a level list (level 0 first).
    public static func choose(levels: [SlideLevel], slideMPP: Double, targetMPP: Double) throws(SlideError)
        -> ScanLevel {
        try check(slideMPP, "the slide's µm/px")
        try check(targetMPP, "the model's µm/px")
        guard !levels.isEmpty else { throw .invalidRequest("the slide has no levels") }
        // Distance in log ratio: 0.25 and 1.0 are equally far from 0.5. Ties keep the earlier (finer) level.
        func distance(_ level: SlideLevel) -> Double { abs(log(slideMPP * level.downsample / targetMPP)) }
        var best = levels[0]
        for level in levels.dropFirst() where distance(level) < distance(best) { best = level }
        let levelMPP = slideMPP * best.downsample
        let matches = abs(levelMPP / targetMPP - 1) <= matchTolerance
        return ScanLevel(level: best.index, downsample: best.downsample, slideMPP: slideMPP, levelMPP: levelMPP,
                         targetMPP: targetMPP, levelPixelsPerModelPixel: matches ? 1 : targetMPP / levelMPP)
    }

    private static func check(_ mpp: Double, _ what: String) throws(SlideError) {
        guard mpp.isFinite, mpp > 0, mpp <= Slide.maxMicronsPerPixel else {
            throw .invalidRequest("\(what) must be a number in (0, \(Int(Slide.maxMicronsPerPixel))], got \(mpp)")
        }
    }
}
