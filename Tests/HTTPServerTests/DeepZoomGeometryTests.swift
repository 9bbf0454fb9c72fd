import Foundation
@testable import HTTPServer
import Hummingbird
import SlideReading
import Testing

/// The Deep Zoom pyramid the viewer reads: level sizes, tile rectangles at the edges, requests outside it.
struct DeepZoomGeometryTests {
    /// cmu-1-small-region.svs measures 2220 × 2967.
    let pyramid = DeepZoomGeometry(width: 2220, height: 2967)

    func size(_ level: Int) -> [Int]? { pyramid.levelSize(level).map { [$0.width, $0.height] } }

    @Test func levelSizesHalveRoundingUpDownToOnePixel() {
        #expect(pyramid.maxLevel == 12)   // 2^11 = 2048 < 2967 ≤ 4096
        #expect(size(12) == [2220, 2967])
        #expect(size(11) == [1110, 1484])   // 2967 / 2 rounded up
        #expect(size(10) == [555, 742])
        #expect(size(9) == [278, 371])
        #expect(size(1) == [2, 2])   // 2220 / 2048 and 2967 / 2048, rounded up
        #expect(size(0) == [1, 1])
        #expect(DeepZoomGeometry(width: 1, height: 1).maxLevel == 0)
        #expect(DeepZoomGeometry(width: 256, height: 100).maxLevel == 8)
        #expect(DeepZoomGeometry(width: 257, height: 100).maxLevel == 9)
    }

    @Test func tilesOverlapTheirNeighboursAndStopAtTheEdges() {
        #expect(pyramid.grid(12).map { [$0.columns, $0.rows] } == [9, 12])   // ceil(2220 / 254), ceil(2967 / 254)
        let first = pyramid.tile(level: 12, column: 0, row: 0)!
        #expect(first == .init(x: 0, y: 0, width: 255, height: 255, scale: 1))      // overlap right and below only
        let inner = pyramid.tile(level: 12, column: 1, row: 1)!
        #expect(inner == .init(x: 253, y: 253, width: 256, height: 256, scale: 1))  // overlap on every side
        let corner = pyramid.tile(level: 12, column: 8, row: 11)!
        #expect(corner == .init(x: 2031, y: 2793, width: 189, height: 174, scale: 1))  // to 2220 and 2967
        let small = pyramid.tile(level: 9, column: 1, row: 1)!
        #expect(small == .init(x: 253, y: 253, width: 25, height: 118, scale: 8))  // 278 × 371 at level 9
        #expect(pyramid.tile(level: 0, column: 0, row: 0)! == .init(x: 0, y: 0, width: 1, height: 1, scale: 4096))
    }

    @Test func requestsOutsideThePyramidHaveNoTile() {
        #expect(pyramid.levelSize(13) == nil)
        #expect(pyramid.levelSize(-1) == nil)
        #expect(pyramid.tile(level: 12, column: 9, row: 0) == nil)
        #expect(pyramid.tile(level: 12, column: 0, row: 12) == nil)
        #expect(pyramid.tile(level: 12, column: -1, row: 0) == nil)
        #expect(pyramid.tile(level: 13, column: 0, row: 0) == nil)
        #expect(pyramid.tile(level: 0, column: 1, row: 0) == nil)
    }

    @Test func descriptorNamesSizeTilesAndFormat() {
        let xml = pyramid.descriptor(format: "png")
        #expect(xml.contains(#"Format="png" Overlap="1" TileSize="254""#))
        #expect(xml.contains(#"<Size Width="2220" Height="2967"/>"#))
    }

    @Test func tileAddressesAreNumbersOrNotFound() throws {
        let address = try SlideEndpoints.tileAddress(level: "12", tile: "8_11.png")
        #expect(address.level == 12 && address.column == 8 && address.row == 11)
        for (level, tile) in [("12", "8_11.jpeg"), ("x", "0_0.png"), ("12", "8-11.png"), ("12", "_1.png"),
                              ("12", "1_2_3.png"), ("-1", "0_0.png"), ("12", "+1_0.png"), ("99999999999", "0_0.png")] {
            #expect(throws: Problem.self) { try SlideEndpoints.tileAddress(level: level, tile: tile) }
            do { _ = try SlideEndpoints.tileAddress(level: level, tile: tile) } catch let problem as Problem {
                #expect(problem.status == .notFound)
            }
        }
    }

    @Test func sourceLevelIsTheCoarsestAtLeastAsFine() {
        let levels = [SlideLevel(index: 0, width: 40000, height: 30000, downsample: 1),
                      SlideLevel(index: 1, width: 10000, height: 7500, downsample: 4.0002),
                      SlideLevel(index: 2, width: 2500, height: 1875, downsample: 16.001)]
        #expect(DeepZoomTiles.sourceLevel(levels, scale: 1).index == 0)
        #expect(DeepZoomTiles.sourceLevel(levels, scale: 2).index == 0)
        #expect(DeepZoomTiles.sourceLevel(levels, scale: 4).index == 1)
        #expect(DeepZoomTiles.sourceLevel(levels, scale: 8).index == 1)
        #expect(DeepZoomTiles.sourceLevel(levels, scale: 64).index == 2)
    }
}
