import Foundation
import ImageCodecs
import Testing
@testable import SlideReading

@Suite("Slide: opening, metadata and refusals")
struct SlideOpeningTests {
    @Test("the CMU slide: Aperio, one 2220 × 2967 level, 0.499 µm/px from openslide.mpp-x/y",
          .enabled(if: SharedSlides.available, SharedSlides.skipReason))
    func cmuMetadata() throws {
        let slide = try Slide(path: SharedSlides.cmu)
        #expect(slide.vendor == "aperio")
        #expect(slide.levels == [SlideLevel(index: 0, width: 2220, height: 2967, downsample: 1)])
        #expect(slide.mppX == 0.499 && slide.mppY == 0.499 && slide.micronsPerPixel == 0.499)
        #expect(slide.properties["aperio.MPP"] == "0.4990")
    }

    @Test("the TCGA slide: two levels (downsample ≈ 2.0005) and no resolution metadata",
          .enabled(if: SharedSlides.available, SharedSlides.skipReason))
    func tcgaMetadata() throws {
        let slide = try Slide(path: SharedSlides.tcga)
        #expect(slide.vendor == "aperio")
        #expect(slide.levels.map { [$0.width, $0.height] } == [[4443, 3567], [2221, 1783]])
        #expect(abs(slide.levels[1].downsample - 2.0005) < 1e-4)
        #expect(slide.micronsPerPixel == nil)
    }

    @Test("broken.svs is one clear error line, not a crash", .enabled(if: SharedSlides.available, SharedSlides.skipReason))
    func broken() {
        #expect(throws: SlideError.unsupportedFormat(path: SharedSlides.broken)) { try Slide(path: SharedSlides.broken) }
        let line = SlideError.unsupportedFormat(path: SharedSlides.broken).description
        #expect(line == "broken.svs: not a whole-slide image OpenSlide 3.4.1 can read (unsupported format or corrupt file)")
    }

    @Test("a missing path, a directory and a PNG renamed .svs are refused with their own errors")
    func refusals() throws {
        let folder = try SharedSlides.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.svs").path
        #expect(throws: SlideError.notFound(path: missing)) { try Slide(path: missing) }
        #expect(SlideError.notFound(path: missing).description == "missing.svs: no such file")
        #expect(throws: SlideError.notReadable(path: folder.path, reason: "it is a directory")) {
            try Slide(path: folder.path)
        }
        let png = folder.appendingPathComponent("patch.svs")
        let image = RGBImage(width: 4, height: 4, pixels: [UInt8](repeating: 200, count: 48))
        try Data(PNGEncoder.encode(image)).write(to: png)
        #expect(throws: SlideError.unsupportedFormat(path: png.path)) { try Slide(path: png.path) }
    }

    @Test("OpenSlide's and a file's text become one printable line")
    func oneLine() {
        #expect(SlideError.oneLine("bad\nTIFF\u{1B}[31m") == "bad TIFF [31m")
        #expect(SlideError.oneLine(String(repeating: "x", count: 500)).count == 301)
        #expect(SlideError.name("/srv/uploads/a/b.svs") == "b.svs")
    }
}
