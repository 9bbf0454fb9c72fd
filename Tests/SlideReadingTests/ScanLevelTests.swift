import Foundation
import Testing
@testable import SlideReading

@Suite("ScanLevel: the level closest to the model's µm/px")
struct ScanLevelTests {
    static let pyramid = [SlideLevel(index: 0, width: 40_000, height: 30_000, downsample: 1),
                          SlideLevel(index: 1, width: 10_000, height: 7_500, downsample: 4),
                          SlideLevel(index: 2, width: 2_500, height: 1_875, downsample: 16)]

    @Test("a matching level is read as is; 0.499 and 0.5025 are the same scale")
    func match() throws {
        let scan = try ScanLevel.choose(levels: Self.pyramid, slideMPP: 0.1256, targetMPP: 0.499)
        #expect(scan.level == 1 && !scan.needsResize && scan.levelPixelsPerModelPixel == 1)
        #expect(scan.level0PixelsPerModelPixel == 4)
    }

    @Test("no matching level: the closest in ratio, and the resize factor")
    func resize() throws {
        // 0.25 µm/px slide, 0.5 target: level 0 (0.25) and level 1 (1.0) are both a factor 2 away: the finer wins.
        let tie = try ScanLevel.choose(levels: Self.pyramid, slideMPP: 0.25, targetMPP: 0.5)
        #expect(tie.level == 0 && tie.levelPixelsPerModelPixel == 2)
        // 0.7 target: level 1 (1.0) is closer than level 0 (0.25); enlarge by 1/0.7.
        let coarse = try ScanLevel.choose(levels: Self.pyramid, slideMPP: 0.25, targetMPP: 0.7)
        #expect(coarse.level == 1 && abs(coarse.levelPixelsPerModelPixel - 0.7) < 1e-12)
        #expect(abs(coarse.level0PixelsPerModelPixel - 2.8) < 1e-12)
    }

    @Test("µm/px that is not a positive number is refused")
    func invalid() {
        for bad in [0, -1, .nan, .infinity, 2000] {
            #expect(throws: SlideError.self) { try ScanLevel.choose(levels: Self.pyramid, slideMPP: bad, targetMPP: 0.5) }
            #expect(throws: SlideError.self) { try ScanLevel.choose(levels: Self.pyramid, slideMPP: 0.25, targetMPP: bad) }
        }
    }

    @Test("the CMU slide's 0.499 µm/px is the card's: level 0, no resize",
          .enabled(if: SharedSlides.available, SharedSlides.skipReason))
    func cmu() throws {
        let scan = try ScanLevel.choose(for: Slide(path: SharedSlides.cmu), targetMPP: 0.499)
        #expect(scan.level == 0 && !scan.needsResize && scan.slideMPP == 0.499)
    }

    @Test("the TCGA slide has no µm/px: refused without one, accepted with one",
          .enabled(if: SharedSlides.available, SharedSlides.skipReason))
    func tcga() throws {
        let slide = try Slide(path: SharedSlides.tcga)
        #expect(throws: SlideError.noResolution(path: SharedSlides.tcga)) { try ScanLevel.choose(for: slide, targetMPP: 0.499) }
        #expect(SlideError.noResolution(path: SharedSlides.tcga).description.contains("--slide-mpp"))
        let half = try ScanLevel.choose(for: slide, targetMPP: 0.499, slideMPP: 0.25)
        #expect(half.level == 1 && !half.needsResize)   // 0.25 × 2.0005 ≈ 0.5001
        let byEye = try ScanLevel.choose(for: slide, targetMPP: 0.499, slideMPP: 1.0)
        #expect(byEye.level == 0 && abs(byEye.levelPixelsPerModelPixel - 0.499) < 1e-12)
    }
}
