import Foundation
import Testing
@testable import SlideReading

@Suite("TileGrid: patches over the tissue, level-0 coordinates")
struct TileGridTests {
    @Test("at a level with downsample 2, tile (c, r) starts at level-0 block (c, r) and reads its colour")
    func syntheticLevel1() throws {
        let folder = try SharedSlides.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let slide = try Slide(path: SyntheticSlide.write(in: folder))
        // 16-px patches at 0.5 µm/px: level 1 matches; a patch is one 32-px level-0 block.
        let scan = try ScanLevel.choose(for: slide, targetMPP: 0.5, slideMPP: SyntheticSlide.micronsPerPixel)
        #expect(scan.level == 1 && scan.downsample == 2 && !scan.needsResize)
        let grid = try TileGrid(slide: slide, scan: scan, patchSize: 16, stride: 16, minTissue: 0, mask: nil)
        #expect(grid.columns == 16 && grid.rows == 12 && grid.tiles.count == 192 && grid.regionSize == 16)
        for tile in grid.tiles {
            #expect(tile.level0X == 32 * tile.column && tile.level0Y == 32 * tile.row)
            let image = try slide.read(region: grid.region(of: tile), level: scan.level)
            let expected = SyntheticSlide.color(column: tile.column, row: tile.row)
            #expect(image.width == 16 && image.pixels == Array((0..<256).map { _ in expected }.joined()),
                    "tile \(tile.column), \(tile.row)")
        }
        #expect(grid.tiles.map(\.index) == Array(0..<192))
        #expect(grid.tiles.map { $0.row * 16 + $0.column } == Array(0..<192))   // reading order
    }

    @Test("the tissue mask keeps the coloured blocks, drops the glass columns, and measures a half-glass tile")
    func syntheticMask() throws {
        let folder = try SharedSlides.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let slide = try Slide(path: SyntheticSlide.write(in: folder))
        let scan = try ScanLevel.choose(for: slide, targetMPP: 0.5, slideMPP: SyntheticSlide.micronsPerPixel)
        let mask = try TissueMask.detect(in: slide, slideMPP: SyntheticSlide.micronsPerPixel)
        #expect(mask.width == 16 && mask.height == 12)   // 128 × 96 µm at 8 µm/px: one mask pixel per block
        let grid = try TileGrid(slide: slide, scan: scan, patchSize: 16, stride: 16, minTissue: 0.5, mask: mask)
        #expect(grid.tiles.count == 12 * 12)
        #expect(grid.tiles.allSatisfy { $0.column >= SyntheticSlide.glassColumns && $0.tissue == 1 })
        // 32-px patches (two blocks) at stride 16: tile 3 spans glass block 3 and tissue block 4.
        let wide = try TileGrid(slide: slide, scan: scan, patchSize: 32, stride: 16, minTissue: 0, mask: mask)
        #expect(wide.columns == 15 && wide.rows == 11)   // (256 − 32)/16 + 1, (192 − 32)/16 + 1
        #expect(wide.tiles[3].level0X == 96 && wide.tiles[3].tissue == 0.5)
        #expect(wide.tiles[2].tissue == 0 && wide.tiles[4].tissue == 1)
    }

    @Test("resized scans: the region read covers the patch at the level's scale")
    func resized() throws {
        let levels = [SlideLevel(index: 0, width: 3000, height: 2000, downsample: 1)]
        let scan = try ScanLevel.choose(levels: levels, slideMPP: 0.25, targetMPP: 0.5)
        let grid = try TileGrid(level0Width: 3000, level0Height: 2000, scan: scan, patchSize: 150, stride: 100,
                                minTissue: 0, mask: nil)
        #expect(grid.regionSize == 300)
        #expect(grid.columns == 14 && grid.rows == 9)    // 1500 × 1000 model px: (1500 − 150)/100 + 1, (1000 − 150)/100 + 1
        #expect(grid.tiles[1].level0X == 200 && grid.tiles[14].level0Y == 200)
    }

    @Test("bad parameters are refused")
    func refusals() throws {
        let levels = [SlideLevel(index: 0, width: 3000, height: 2000, downsample: 1)]
        let scan = try ScanLevel.choose(levels: levels, slideMPP: 0.5, targetMPP: 0.5)
        for (patch, stride, tissue) in [(0, 10, 0.5), (150, 0, 0.5), (150, 10, 1.5), (150, 10, -0.1), (150, 10, .nan)] {
            #expect(throws: SlideError.self) {
                try TileGrid(level0Width: 3000, level0Height: 2000, scan: scan, patchSize: patch, stride: stride,
                             minTissue: tissue, mask: nil)
            }
        }
        #expect(throws: SlideError.self) {   // 10⁶ × 10⁶ slide at stride 1: far more than maxTiles
            try TileGrid(level0Width: 1_000_000, level0Height: 1_000_000, scan: scan, patchSize: 1, stride: 1,
                         minTissue: 0, mask: nil)
        }
    }

    @Test("the CMU slide at 150 px, stride 150: 14 × 19 tiles, the glass ones dropped",
          .enabled(if: SharedSlides.available, SharedSlides.skipReason))
    func cmu() throws {
        let slide = try Slide(path: SharedSlides.cmu)
        let scan = try ScanLevel.choose(for: slide, targetMPP: 0.499)
        let mask = try TissueMask.detect(in: slide, slideMPP: scan.slideMPP)
        let all = try TileGrid(slide: slide, scan: scan, patchSize: 150, stride: 150, minTissue: 0, mask: mask)
        let kept = try TileGrid(slide: slide, scan: scan, patchSize: 150, stride: 150, minTissue: 0.5, mask: mask)
        #expect(all.columns == 14 && all.rows == 19 && all.tiles.count == 266)
        #expect(kept.tiles.count > 60 && kept.tiles.count < 160, "kept \(kept.tiles.count)")
        #expect(!kept.tiles.contains { $0.column == 0 && $0.row == 0 })
    }
}
