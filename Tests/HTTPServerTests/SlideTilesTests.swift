import Foundation
@testable import HTTPServer
import SlideReading
import Testing

/// Tiles read from a real slide (the repository's shared cmu-1-small-region.svs, 2220 × 2967, one level), a
/// scan's tile row found in its table, and the panel tile read as the scan reads it.
struct SlideTilesTests {
    static let slidePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("../shared/data/slides/cmu-1-small-region.svs").standardized.path

    @Test(.enabled(if: FileManager.default.fileExists(atPath: SlideTilesTests.slidePath)))
    func tilesHaveTheirRectanglesSizeAtEveryLevel() throws {
        let slide = try Slide(path: Self.slidePath)
        let pyramid = DeepZoomGeometry(width: slide.level0.width, height: slide.level0.height)
        for (level, column, row) in [(12, 0, 0), (12, 8, 11), (11, 4, 5), (10, 2, 2), (9, 1, 1), (4, 0, 0), (0, 0, 0)] {
            let rect = try #require(pyramid.tile(level: level, column: column, row: row))
            let image = try DeepZoomTiles.render(slide, rect)
            #expect(image.width == rect.width && image.height == rect.height, "level \(level) tile \(column)_\(row)")
        }
        // At full size a tile is the slide's own pixels, not a resampled copy.
        let rect = try #require(pyramid.tile(level: 12, column: 1, row: 1))
        let direct = try slide.read(region: SlideRegion(x: rect.x, y: rect.y, width: rect.width, height: rect.height), level: 0)
        #expect(try DeepZoomTiles.render(slide, rect).pixels == direct.pixels)
        // A level-10 tile (4 level-0 pixels per pixel) is not white: the slide is tissue almost everywhere.
        let coarse = try DeepZoomTiles.render(slide, try #require(pyramid.tile(level: 10, column: 0, row: 0)))
        let mean = coarse.pixels.reduce(0) { $0 + Int($1) } / coarse.pixels.count
        #expect(mean < 240)
    }

    @Test func tileRowIsFoundByItsIndex() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tiles-\(UUID()).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("tile,x,y,width,height,column,row\n0,0,0,150,150,0,0\n1,150,0,150,150,1,0\n12,300,450,150,150,2,3".utf8).write(to: url)
        #expect(try SlideTileTable.corner(of: 0, in: url) == SlideTileTable.Corner(x: 0, y: 0))
        #expect(try SlideTileTable.corner(of: 1, in: url) == SlideTileTable.Corner(x: 150, y: 0))
        #expect(try SlideTileTable.corner(of: 12, in: url) == SlideTileTable.Corner(x: 300, y: 450))   // last line, no newline
        #expect(try SlideTileTable.corner(of: 2, in: url) == nil)
        #expect(try SlideTileTable.corner(of: -1, in: url) == nil)
        try Data("tile,x,y\n0,abc,0\n".utf8).write(to: url)
        #expect(throws: Problem.self) { try SlideTileTable.corner(of: 0, in: url) }
    }

    @Test func regionSideIsTheGridsRegionSize() throws {
        let levels = [SlideLevel(index: 0, width: 9000, height: 9000, downsample: 1),
                      SlideLevel(index: 1, width: 2250, height: 2250, downsample: 4)]
        for (slideMPP, target) in [(0.25, 0.499), (0.499, 0.499), (0.3, 0.499), (0.12, 0.499), (2.0, 0.499)] {
            let scan = try ScanLevel.choose(levels: levels, slideMPP: slideMPP, targetMPP: target)
            let grid = try TileGrid(level0Width: 9000, level0Height: 9000, scan: scan, patchSize: 150, stride: 150,
                                    minTissue: 0, mask: nil)
            #expect(TileGrid.regionSide(patchSize: 150, scan: scan) == grid.regionSize)
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: SlideTilesTests.slidePath)))
    func panelTileIsTheScansTile() throws {
        let slide = try Slide(path: Self.slidePath)
        let tile = try SlidePanelTile.read(slide, x: 300, y: 450, modelMPP: 0.499, slideMPP: nil, patchSize: 150)
        let scan = try ScanLevel.choose(for: slide, targetMPP: 0.499)
        let grid = try TileGrid(slide: slide, scan: scan, patchSize: 150, stride: 150, minTissue: 0, mask: nil)
        let expected = try slide.read(region: SlideRegion(x: 300, y: 450, width: grid.regionSize, height: grid.regionSize),
                                      level: scan.level)
        #expect(tile.width == 150 && tile.height == 150)
        #expect(tile.pixels == (scan.needsResize ? RGBResampling.resize(expected, width: 150, height: 150) : expected).pixels)
    }
}
