/// The Deep Zoom pyramid of an image `width` × `height` pixels, as OpenSeadragon and the viewer read it:
/// level `maxLevel` is the full image, each level below half the one above (sizes rounded up), level 0 is
/// 1 × 1; every level is cut into `tileSize`-pixel tiles, each grown by `overlap` pixels on every side that
/// has a neighbour (so a tile is at most `tileSize + 2 × overlap` pixels wide).
///
/// All arithmetic is on integers from the slide's checked level-0 size; a request outside the pyramid gets
/// nil, never a clamped tile.
///
/// ```swift
/// let pyramid = DeepZoomGeometry(width: 2220, height: 2967)          // cmu-1-small-region.svs
/// pyramid.maxLevel                                                    // 12
/// pyramid.levelSize(11)                                               // (1110, 1484)
/// pyramid.tile(level: 12, column: 8, row: 0)                          // x 2031, width 189 (the right edge)
/// ```
struct DeepZoomGeometry: Sendable, Equatable {
    let width: Int
    let height: Int
    let tileSize: Int
    let overlap: Int

    /// A tile's rectangle in the pixels of its Deep Zoom level, and how many level-0 pixels one of them spans.
    struct TileRect: Sendable, Equatable {
        let x: Int
        let y: Int
        let width: Int
        let height: Int
        /// 2^(maxLevel − level).
        let scale: Int
    }

    static let defaultTileSize = 254
    static let defaultOverlap = 1

    init(width: Int, height: Int, tileSize: Int = defaultTileSize, overlap: Int = defaultOverlap) {
        precondition(width > 0 && height > 0 && tileSize > 0 && overlap >= 0, "a Deep Zoom pyramid needs positive sizes")
        self.width = width
        self.height = height
        self.tileSize = tileSize
        self.overlap = overlap
    }

    /// ceil(log2(max(width, height))): the level at full size.
    var maxLevel: Int {
        var level = 0
        while (1 << level) < max(width, height) { level += 1 }
        return level
    }

    /// The size of `level`, nil outside 0...maxLevel.
    func levelSize(_ level: Int) -> (width: Int, height: Int)? {
        guard (0...maxLevel).contains(level) else { return nil }
        let shift = maxLevel - level
        // ceil(n / 2^shift) without floating point.
        func reduced(_ n: Int) -> Int { (n + (1 << shift) - 1) >> shift }
        return (reduced(width), reduced(height))
    }

    /// Columns and rows of tiles at `level`, nil outside the pyramid.
    func grid(_ level: Int) -> (columns: Int, rows: Int)? {
        guard let size = levelSize(level) else { return nil }
        return ((size.width + tileSize - 1) / tileSize, (size.height + tileSize - 1) / tileSize)
    }

    /// The rectangle of tile (`column`, `row`) at `level`, overlap included; nil for a tile that does not exist.
    func tile(level: Int, column: Int, row: Int) -> TileRect? {
        guard let size = levelSize(level), let grid = grid(level),
              (0..<grid.columns).contains(column), (0..<grid.rows).contains(row) else { return nil }
        func span(_ index: Int, _ length: Int) -> (start: Int, length: Int) {
            let start = index * tileSize - (index == 0 ? 0 : overlap)
            let end = min(length, (index + 1) * tileSize + overlap)
            return (start, end - start)
        }
        let across = span(column, size.width), down = span(row, size.height)
        return TileRect(x: across.start, y: down.start, width: across.length, height: down.length,
                        scale: 1 << (maxLevel - level))
    }

    /// The `.dzi` descriptor (Deep Zoom's XML schema of 2008, which OpenSeadragon reads too).
    func descriptor(format: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="\(format)" Overlap="\(overlap)" \
        TileSize="\(tileSize)"><Size Width="\(width)" Height="\(height)"/></Image>

        """
    }
}
