import Foundation
import ImageCodecs
import Testing
@testable import SlideReading

@Suite("TissueMask: tissue, not glass")
struct TissueMaskTests {
    static let pink: [UInt8] = [200, 120, 170], glass: [UInt8] = [240, 238, 240], fat: [UInt8] = [248, 246, 248]

    /// A `side`-pixel thumbnail filled with glass, with `paint` deciding the pixels that differ.
    static func thumbnail(side: Int, _ paint: (Int, Int) -> [UInt8]?) -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<side { for x in 0..<side { pixels += paint(x, y) ?? glass } }
        return RGBImage(width: side, height: side, pixels: pixels)
    }

    @Test("the pixel rule: stained and coloured; glass, grey dust and white fat alone are not tissue")
    func rule() {
        let options = TissueDetection()
        #expect(options.isTissue(r: 200, g: 120, b: 170))
        #expect(!options.isTissue(r: 236, g: 233, b: 236))     // the CMU slide's glass
        #expect(!options.isTissue(r: 90, g: 90, b: 92))        // grey dust: dense but colourless
        #expect(!options.isTissue(r: 248, g: 246, b: 248))
    }

    @Test("adipose enclosed by tissue is tissue; specks and glass at the border are not")
    func cleanUp() {
        // 100 × 100 px at 8 µm/px: a pink ring (rows/cols 20…79, 6 px thick) around 48 × 48 px of white fat
        // (0.15 mm², under the 1 mm² hole limit), a 1-px speck at (5, 90), glass elsewhere.
        let image = Self.thumbnail(side: 100) { x, y in
            if x == 5 && y == 90 { return Self.pink }
            guard (20..<80).contains(x) && (20..<80).contains(y) else { return nil }
            let inner = (26..<74).contains(x) && (26..<74).contains(y)
            return inner ? Self.fat : Self.pink
        }
        let mask = TissueMask(thumbnail: image, level0PixelsPerPixel: 16, micronsPerPixel: 8)
        #expect(mask.pixels[50 * 100 + 50] == 1)     // fat inside the ring
        #expect(mask.pixels[90 * 100 + 5] == 0)      // speck removed by the opening
        #expect(mask.pixels[10 * 100 + 10] == 0)     // glass
        #expect(mask.tissueArea == 0.36)             // exactly the 60 × 60 square
    }

    @Test("a hole larger than the limit stays glass")
    func largeHole() {
        var options = TissueDetection()
        options.maxHoleSquareMicrons = 100_000   // 0.1 mm²: the 0.15 mm² hole is larger
        let image = Self.thumbnail(side: 100) { x, y in
            guard (20..<80).contains(x) && (20..<80).contains(y) else { return nil }
            return (26..<74).contains(x) && (26..<74).contains(y) ? nil : Self.pink
        }
        let mask = TissueMask(thumbnail: image, level0PixelsPerPixel: 16, micronsPerPixel: 8, options: options)
        #expect(mask.pixels[50 * 100 + 50] == 0)
        #expect(mask.pixels[22 * 100 + 50] == 1)
    }

    @Test("tissue fraction of level-0 rectangles")
    func fraction() {
        // Left half tissue, right half glass; 10 level-0 pixels per mask pixel.
        let image = Self.thumbnail(side: 20) { x, _ in x < 10 ? Self.pink : nil }
        let mask = TissueMask(thumbnail: image, level0PixelsPerPixel: 10, micronsPerPixel: 8)
        #expect(mask.tissueFraction(level0X: 0, level0Y: 0, level0Width: 100, level0Height: 100) == 1)
        #expect(mask.tissueFraction(level0X: 50, level0Y: 0, level0Width: 100, level0Height: 100) == 0.5)
        #expect(mask.tissueFraction(level0X: 150, level0Y: 50, level0Width: 50, level0Height: 50) == 0)
        #expect(mask.tissueFraction(level0X: 91, level0Y: 0, level0Width: 3, level0Height: 3) == 1)   // sub-pixel
        #expect(mask.tissueFraction(level0X: 500, level0Y: 0, level0Width: 10, level0Height: 10) == 0)  // outside
    }

    @Test("the CMU slide: tissue where the tissue is, not on the glass",
          .enabled(if: SharedSlides.available, SharedSlides.skipReason))
    func cmu() throws {
        let slide = try Slide(path: SharedSlides.cmu)
        let mask = try TissueMask.detect(in: slide, slideMPP: 0.499)
        #expect(mask.width == 139 && mask.height == 186)   // 2220 × 2967 at 0.499 → 8 µm/px, rounded up
        #expect(mask.tissueArea > 0.3 && mask.tissueArea < 0.5, "tissue area \(mask.tissueArea)")
        let glass = mask.tissueFraction(level0X: 0, level0Y: 0, level0Width: 600, level0Height: 600)
        let tissue = mask.tissueFraction(level0X: 900, level0Y: 2300, level0Width: 400, level0Height: 400)
        #expect(glass == 0 && tissue == 1)
    }
}
