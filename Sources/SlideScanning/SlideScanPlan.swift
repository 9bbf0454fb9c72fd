import Foundation
import SlideReading

/// Everything decided about a slide before its first tile is read: the open slide, the level scanned (closest
/// to the model's µm/px, resized when none matches), the tissue mask at thumbnail resolution and the tile grid
/// over the tissue — with the time each step took.
///
/// ```swift
/// let plan = try SlideScanPlan.prepare(slidePath: "cmu-1-small-region.svs", modelMPP: 0.499, patchSize: 150,
///                                      settings: ScanSettings())
/// print(plan.scan.level, plan.grid.tiles.count, plan.mask.tissueArea)
/// ```
public struct SlideScanPlan: Sendable {
    /// Where the slide's level-0 µm/px came from.
    public enum ResolutionSource: String, Sendable, Codable {
        /// `openslide.mpp-x/y` in the file.
        case file
        /// Given by the caller (`--slide-mpp`).
        case given
    }

    public let slide: Slide
    public let scan: ScanLevel
    public let resolutionSource: ResolutionSource
    public let mask: TissueMask
    public let grid: TileGrid
    /// Seconds spent opening the slide, detecting tissue and laying the grid.
    public let openSeconds: Double
    public let tissueSeconds: Double
    public let gridSeconds: Double

    /// Opens the slide and plans its scan.
    ///
    /// - Throws: ``SlideScanError/slide(_:)`` for a missing, unreadable, corrupt or unsupported file, a slide
    ///   without resolution metadata and no ``ScanSettings/slideMPP`` (``SlideError/noResolution(path:)``), or a
    ///   grid the settings make too large; ``SlideScanError/invalidSettings(_:)``.
    public static func prepare(slidePath: String, modelMPP: Double, patchSize: Int, settings: ScanSettings)
        throws(SlideScanError) -> SlideScanPlan {
        try settings.validate()
        do {
            var clock = ContinuousClock.now
            func lap() -> Double {
                let now = ContinuousClock.now
                defer { clock = now }
                return (now - clock).seconds
            }
            let slide = try Slide(path: slidePath)
            let scan = try ScanLevel.choose(for: slide, targetMPP: modelMPP, slideMPP: settings.slideMPP)
            let open = lap()
            let mask = try TissueMask.detect(in: slide, slideMPP: scan.slideMPP, options: settings.tissue)
            let tissue = lap()
            let grid = try TileGrid(slide: slide, scan: scan, patchSize: patchSize, stride: settings.stride,
                                    minTissue: settings.minTissue, mask: mask)
            return SlideScanPlan(slide: slide, scan: scan, resolutionSource: settings.slideMPP == nil ? .file : .given,
                                 mask: mask, grid: grid, openSeconds: open, tissueSeconds: tissue, gridSeconds: lap())
        } catch {
            throw .slide(error)
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
