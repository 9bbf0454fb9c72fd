import Scoring
import SlideReading

/// One tile's result: where it lies on the slide (level-0 pixels) and the engine's calibrated score.
///
/// ```swift
/// let tile = ScannedTile(tile: grid.tiles[0], side: grid.level0TileSide, score: outcome.patches[0].score!)
/// print(tile.x, tile.y, tile.side, tile.score.verdict)
/// ```
public struct ScannedTile: Sendable, Equatable {
    /// The grid's tile: index, column, row, level-0 corner and mask tissue fraction.
    public let tile: Tile
    /// Side of the square it covers, in level-0 pixels.
    public let side: Int
    public let score: PatchScore

    public init(tile: Tile, side: Int, score: PatchScore) {
        self.tile = tile
        self.side = side
        self.score = score
    }

    /// Level-0 column of the top-left corner.
    public var x: Int { tile.level0X }
    /// Level-0 row of the top-left corner.
    public var y: Int { tile.level0Y }
}

/// How far a scan has come, after each engine request's results are written.
public struct ScanProgress: Sendable, Equatable {
    /// Tiles scored and written.
    public let done: Int
    /// Tiles in the grid.
    public let total: Int
    /// Seconds since the first tile was requested.
    public let elapsedSeconds: Double

    public init(done: Int, total: Int, elapsedSeconds: Double) {
        self.done = done
        self.total = total
        self.elapsedSeconds = elapsedSeconds
    }

    /// Tiles per second so far (0 before the first result).
    public var tilesPerSecond: Double { elapsedSeconds > 0 ? Double(done) / elapsedSeconds : 0 }

    /// Seconds left at the rate so far; nil before the first result.
    public var remainingSeconds: Double? {
        tilesPerSecond > 0 ? Double(total - done) / tilesPerSecond : nil
    }
}
