import ImageCodecs
import SlideReading

/// One scanned tile read again as the scan read it: the level chosen for the model's µm/px (``ScanLevel``, with
/// the job's own slide µm/px when it gave one), a ``TileGrid/regionSide(patchSize:scan:)`` square from the
/// tile's level-0 corner, resized to the patch size when the level does not match.
///
/// ```swift
/// let patch = try SlidePanelTile.read(slide, x: 1050, y: 0, modelMPP: 0.499, slideMPP: nil, patchSize: 150)
/// ```
enum SlidePanelTile {
    static func read(_ slide: Slide, x: Int, y: Int, modelMPP: Double, slideMPP: Double?, patchSize: Int)
        throws(SlideError) -> RGBImage {
        let scan = try ScanLevel.choose(for: slide, targetMPP: modelMPP, slideMPP: slideMPP)
        let side = TileGrid.regionSide(patchSize: patchSize, scan: scan)
        let image = try slide.read(region: SlideRegion(x: x, y: y, width: side, height: side), level: scan.level)
        return scan.needsResize ? RGBResampling.resize(image, width: patchSize, height: patchSize) : image
    }
}
