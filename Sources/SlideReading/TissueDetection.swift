import ImageCodecs
import Scoring

/// How ``TissueMask`` tells tissue from glass on a slide's thumbnail, and the thumbnail's scale.
///
/// A thumbnail pixel is tissue when it is stained — summed optical density above Scoring's
/// ``OpticalDensity/stainMinimum`` (0.15), the same notion that picks the pixels the stain plane is fitted on —
/// **and** coloured: HSV saturation `(max − min) / max` at least ``minSaturation``, which keeps grey dust,
/// shadows and the glass's own tint out. Then a morphological opening removes specks smaller than
/// ``openingMicrons``, a closing bridges gaps narrower than ``closingMicrons`` (the thin membranes of adipose
/// tissue, cracks) and holes up to ``maxHoleSquareMicrons`` enclosed by tissue are filled: fat lobules and
/// small lumina stay tissue, large expanses of glass between fragments stay glass.
///
/// ```swift
/// var options = TissueDetection()
/// options.micronsPerPixel = 16           // coarser thumbnail, faster
/// let mask = try TissueMask.detect(in: slide, slideMPP: 0.25, options: options)
/// ```
public struct TissueDetection: Sendable, Equatable {
    /// The thumbnail's scale: a few µm per pixel, so a 150-pixel patch at 0.5 µm/px spans about 9 mask pixels.
    public var micronsPerPixel = 8.0
    /// Most thumbnail pixels; a larger slide gets a coarser thumbnail, so the mask's memory is bounded.
    public var maxPixels = 8 * 1024 * 1024
    /// Least saturation of a tissue pixel (glass measures ≈ 0.01, H&E tissue 0.2–0.6).
    public var minSaturation = 0.05
    /// Opening radius: stained specks narrower than about twice this are removed.
    public var openingMicrons = 16.0
    /// Closing radius: glass gaps narrower than about twice this, inside tissue, become tissue.
    public var closingMicrons = 32.0
    /// Holes (glass areas enclosed by tissue) up to this area are tissue: 1 mm².
    public var maxHoleSquareMicrons = 1_000_000.0

    public init() {}

    /// The per-pixel rule, before the morphological clean-up.
    @inline(__always)
    public func isTissue(r: UInt8, g: UInt8, b: UInt8) -> Bool {
        let high = max(r, g, b), low = min(r, g, b)
        guard high > 0, Double(high - low) >= minSaturation * Double(high) else { return false }
        return OpticalDensity.isStained(r: r, g: g, b: b)
    }

    /// The radius, in pixels of a mask at `micronsPerPixel`, of a length in µm (0 when under half a pixel).
    func radius(_ microns: Double, at micronsPerPixel: Double) -> Int {
        Int((microns / micronsPerPixel).rounded())
    }
}
