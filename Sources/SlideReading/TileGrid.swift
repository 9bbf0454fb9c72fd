/// One tile of a ``TileGrid``: where it lies on the slide and how much of it is tissue.
public struct Tile: Sendable, Equatable, Hashable {
    /// Position in the grid's reading order (0, 1, … over the kept tiles).
    public let index: Int
    /// Column and row in the full grid (kept or not), from the top-left.
    public let column: Int
    public let row: Int
    /// Level-0 pixel of the tile's top-left corner.
    public let level0X: Int
    public let level0Y: Int
    /// Fraction of the tile that the ``TissueMask`` calls tissue (1 when the grid had no mask).
    public let tissue: Double
}

/// The tiles a slide is scanned in: squares of the model's patch size, in model pixels (the card's µm/px),
/// every `stride` model pixels across and down from the slide's top-left corner, kept where at least
/// `minTissue` of the tile is tissue; in reading order (row by row, left to right). Only whole tiles: the strip
/// past the last whole tile at the right and bottom edges (narrower than one patch) is not scanned.
///
/// A tile is read as ``region(of:)`` at ``ScanLevel/level`` — ``regionSize`` level pixels square from its
/// level-0 corner — and resized to the patch size when the level does not match (``ScanLevel/needsResize``).
///
/// ```swift
/// let scan = try ScanLevel.choose(for: slide, targetMPP: 0.499)
/// let mask = try TissueMask.detect(in: slide, slideMPP: scan.slideMPP)
/// let grid = try TileGrid(slide: slide, scan: scan, patchSize: 150, stride: 150, minTissue: 0.5, mask: mask)
/// for tile in grid.tiles { let pixels = try slide.read(region: grid.region(of: tile), level: scan.level) }
/// ```
public struct TileGrid: Sendable, Equatable {
    public let scan: ScanLevel
    public let patchSize: Int
    public let stride: Int
    public let minTissue: Double
    /// The full grid's columns and rows (before the tissue filter).
    public let columns: Int
    public let rows: Int
    /// Side of the square read at the scan level per tile: the patch size when the level matches.
    public let regionSize: Int
    /// The tiles kept, in reading order.
    public let tiles: [Tile]

    /// Most tiles a grid may have before the tissue filter (bounds the grid's memory).
    public static let maxTiles = 20_000_000

    public init(slide: Slide, scan: ScanLevel, patchSize: Int, stride: Int, minTissue: Double,
                mask: TissueMask?) throws(SlideError) {
        try self.init(level0Width: slide.level0.width, level0Height: slide.level0.height, scan: scan,
                      patchSize: patchSize, stride: stride, minTissue: minTissue, mask: mask)
    }

    /// - Throws: ``SlideError/invalidRequest(_:)`` for a patch size or stride below 1 or above 65 536, a
    ///   `minTissue` outside [0, 1], or a grid of more than ``maxTiles`` tiles.
    public init(level0Width: Int, level0Height: Int, scan: ScanLevel, patchSize: Int, stride: Int,
                minTissue: Double, mask: TissueMask?) throws(SlideError) {
        guard (1...65_536).contains(patchSize), (1...65_536).contains(stride) else {
            throw .invalidRequest("patch size and stride must be 1…65536 pixels, got \(patchSize) and \(stride)")
        }
        guard minTissue >= 0, minTissue <= 1 else {
            throw .invalidRequest("minimum tissue must be a fraction in [0, 1], got \(minTissue)")
        }
        self.scan = scan
        self.patchSize = patchSize
        self.stride = stride
        self.minTissue = minTissue
        let step = scan.level0PixelsPerModelPixel
        // The slide's size in model pixels, and how many whole patches fit at `stride`.
        func count(_ level0Length: Int) -> Int {
            let length = Double(level0Length) / step
            return length < Double(patchSize) ? 0 : Int((length - Double(patchSize)) / Double(stride)) + 1
        }
        columns = count(level0Width)
        rows = count(level0Height)
        let (total, overflow) = columns.multipliedReportingOverflow(by: rows)
        guard !overflow, total <= Self.maxTiles else {
            throw .invalidRequest("a \(columns)×\(rows) tile grid exceeds \(Self.maxTiles) tiles: raise the stride")
        }
        regionSize = scan.needsResize ? max(1, Int((Double(patchSize) * scan.levelPixelsPerModelPixel).rounded()))
            : patchSize
        let level0Side = Self.level0Side(patchSize: patchSize, scan: scan)
        var tiles: [Tile] = []
        for row in 0..<rows {
            let y = Int(Double(row * stride) * step)
            for column in 0..<columns {
                let x = Int(Double(column * stride) * step)
                let tissue = mask?.tissueFraction(level0X: x, level0Y: y, level0Width: level0Side,
                                                  level0Height: level0Side) ?? 1
                if tissue >= minTissue {
                    tiles.append(Tile(index: tiles.count, column: column, row: row, level0X: x, level0Y: y,
                                      tissue: tissue))
                }
            }
        }
        self.tiles = tiles
    }

    /// Side of a tile in level-0 pixels (the square a tile covers on the slide, whatever level it is read at).
    public var level0TileSide: Int { Self.level0Side(patchSize: patchSize, scan: scan) }

    private static func level0Side(patchSize: Int, scan: ScanLevel) -> Int {
        Int((Double(patchSize) * scan.level0PixelsPerModelPixel).rounded())
    }

    /// What to read for `tile` at ``ScanLevel/level``.
    public func region(of tile: Tile) -> SlideRegion {
        SlideRegion(x: tile.level0X, y: tile.level0Y, width: regionSize, height: regionSize)
    }
}
