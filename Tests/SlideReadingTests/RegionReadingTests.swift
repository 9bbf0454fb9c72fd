import Foundation
import ImageCodecs
import Testing
@testable import SlideReading

@Suite("Slide.read(region:level:)")
struct RegionReadingTests {
    @Test("premultiplied ARGB is composited on white")
    func composite() {
        #expect(Slide.compositedOnWhite(0xFF10_2030) == (0x10, 0x20, 0x30))   // opaque: unchanged
        #expect(Slide.compositedOnWhite(0x0000_0000) == (255, 255, 255))      // transparent: white
        #expect(Slide.compositedOnWhite(0x8040_0000) == (0x40 + 127, 127, 127))
        #expect(Slide.compositedOnWhite(0x10FF_FFFF) == (255, 255, 255))      // malformed (c > a): clamped
    }

    @Test("the synthetic slide reads back its blocks at every level, from level-0 origins")
    func synthetic() throws {
        let folder = try SharedSlides.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let slide = try Slide(path: SyntheticSlide.write(in: folder))
        #expect(slide.vendor == "generic-tiff")
        #expect(slide.levels.map(\.downsample) == [1, 2, 4])
        // Level-0 origin (160, 96) is block (5, 3) at every level.
        for level in 0..<3 {
            let image = try slide.read(region: SlideRegion(x: 160, y: 96, width: 2, height: 2), level: level)
            #expect(Array(image.pixels[0..<3]) == SyntheticSlide.color(column: 5, row: 3), "level \(level)")
        }
        // Past the right edge: transparent, so white.
        let edge = try slide.read(region: SlideRegion(x: 511, y: 0, width: 4, height: 1), level: 0)
        #expect(Array(edge.pixels[3..<6]) == [255, 255, 255])
    }

    @Test("bad requests are refused before allocating")
    func refusals() throws {
        let folder = try SharedSlides.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let slide = try Slide(path: SyntheticSlide.write(in: folder))
        let region = SlideRegion(x: 0, y: 0, width: 8, height: 8)
        #expect(throws: SlideError.invalidRequest("level 3 does not exist (the slide has 3)")) {
            try slide.read(region: region, level: 3)
        }
        #expect(throws: SlideError.self) { try slide.read(region: SlideRegion(x: 0, y: 0, width: 0, height: 8), level: 0) }
        #expect(throws: SlideError.self) { try slide.read(region: SlideRegion(x: 512, y: 0, width: 8, height: 8), level: 0) }
        #expect(throws: SlideError.self) { try slide.read(region: SlideRegion(x: -1, y: 0, width: 8, height: 8), level: 0) }
        // Int.max × 2 overflows; 5000 × 5000 is over the default limit: neither allocates.
        #expect(throws: SlideError.self) {
            try slide.read(region: SlideRegion(x: 0, y: 0, width: Int.max, height: 2), level: 0)
        }
        #expect(throws: SlideError.invalidRequest("region 5000×5000 exceeds the 16777216-pixel limit")) {
            try slide.read(region: SlideRegion(x: 0, y: 0, width: 5000, height: 5000), level: 0)
        }
    }

    @Test("the CMU slide's corner is glass and its lower middle is stained tissue",
          .enabled(if: SharedSlides.available, SharedSlides.skipReason))
    func cmuPixels() throws {
        let slide = try Slide(path: SharedSlides.cmu)
        let glass = try slide.read(region: SlideRegion(x: 0, y: 0, width: 64, height: 64), level: 0)
        let tissue = try slide.read(region: SlideRegion(x: 1000, y: 2500, width: 64, height: 64), level: 0)
        func mean(_ image: RGBImage) -> Double { Double(image.pixels.reduce(0) { $0 + Int($1) }) / Double(image.pixels.count) }
        #expect(mean(glass) > 220)
        #expect(mean(tissue) < 200)
    }
}
