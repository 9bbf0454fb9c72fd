import Foundation
@testable import HTTPServer
import SlideReading
import Testing

/// The viewer's kept slides (``OpenSlides``), on copies of the repository's shared slides in a folder of the test's
/// own: one handle per unchanged file, a fresh one when the file changes or after a failed read, and at most
/// `capacity` kept.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: SlideTilesTests.slidePath),
                "needs ../shared/data/slides (the repository's shared slides)"))
struct OpenSlidesTests {
    /// A folder holding `count` copies of the shared slide (`slide0.svs` …), removed by the caller.
    static func copies(_ count: Int) throws -> (folder: URL, paths: [String]) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("open-slides-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let paths = try (0..<count).map { index in
            let url = folder.appendingPathComponent("slide\(index).svs")
            try FileManager.default.copyItem(atPath: SlideTilesTests.slidePath, toPath: url.path)
            return url.path
        }
        return (folder, paths)
    }

    @Test func anUnchangedFileKeepsItsSlide() throws {
        let (folder, paths) = try Self.copies(1)
        defer { try? FileManager.default.removeItem(at: folder) }
        let slides = OpenSlides(capacity: 2)
        let first = try slides.open(path: paths[0])
        #expect(try slides.open(path: paths[0]) === first)
        #expect(slides.count == 1)
        // A read through the kept handle is the slide's pixels.
        let region = SlideRegion(x: 100, y: 100, width: 64, height: 64)
        #expect(try slides.open(path: paths[0]).read(region: region, level: 0).pixels
                == (try Slide(path: paths[0]).read(region: region, level: 0).pixels))
    }

    @Test func aChangedFileIsOpenedAgain() throws {
        let (folder, paths) = try Self.copies(2)
        defer { try? FileManager.default.removeItem(at: folder) }
        let slides = OpenSlides(capacity: 2)
        let first = try slides.open(path: paths[0])
        // Touched: a new modification time.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: paths[0])
        let touched = try slides.open(path: paths[0])
        #expect(touched !== first)
        #expect(try slides.open(path: paths[0]) === touched)
        // Replaced by another file under the same name: a new inode.
        try FileManager.default.removeItem(atPath: paths[0])
        try FileManager.default.moveItem(atPath: paths[1], toPath: paths[0])
        #expect(try slides.open(path: paths[0]) !== touched)
        #expect(slides.count == 1)
        // Gone: the open says so, as an uncached one would.
        try FileManager.default.removeItem(atPath: paths[0])
        #expect(throws: SlideError.self) { try slides.open(path: paths[0]) }
    }

    @Test func theLeastRecentlyUsedSlideIsClosedPastCapacity() throws {
        let (folder, paths) = try Self.copies(3)
        defer { try? FileManager.default.removeItem(at: folder) }
        let slides = OpenSlides(capacity: 2)
        let a = try slides.open(path: paths[0]), b = try slides.open(path: paths[1])
        #expect(try slides.open(path: paths[0]) === a)           // a is now the most recent
        _ = try slides.open(path: paths[2])                        // … so b goes
        #expect(slides.count == 2)
        #expect(try slides.open(path: paths[0]) === a)
        #expect(try slides.open(path: paths[1]) !== b)
        // A slide handed out before it was forgotten still reads (it closes when its last holder lets go).
        #expect(try b.read(region: SlideRegion(x: 0, y: 0, width: 8, height: 8), level: 0).pixels.count == 8 * 8 * 3)
    }

    @Test func aDroppedSlideIsOpenedAgain() throws {
        let (folder, paths) = try Self.copies(1)
        defer { try? FileManager.default.removeItem(at: folder) }
        let slides = OpenSlides(capacity: 2)
        let first = try slides.open(path: paths[0])
        slides.drop(first)
        #expect(slides.count == 0)
        #expect(try slides.open(path: paths[0]) !== first)
    }
}
