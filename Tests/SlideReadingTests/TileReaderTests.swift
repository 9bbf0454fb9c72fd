import Foundation
import Testing
@testable import SlideReading

@Suite("TileReader: tiles read ahead on their own threads, in order, memory bounded")
struct TileReaderTests {
    static func syntheticGrid(in folder: URL, targetMPP: Double = 0.5) throws -> (Slide, TileGrid) {
        let slide = try Slide(path: SyntheticSlide.write(in: folder))
        let scan = try ScanLevel.choose(for: slide, targetMPP: targetMPP, slideMPP: SyntheticSlide.micronsPerPixel)
        return (slide, try TileGrid(slide: slide, scan: scan, patchSize: 16, stride: 16, minTissue: 0, mask: nil))
    }

    @Test("every tile, in reading order, equal to a direct read, in batches")
    func readsAll() async throws {
        let folder = try SharedSlides.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (slide, grid) = try Self.syntheticGrid(in: folder)
        let reader = TileReader(slide: slide, grid: grid, threads: 3, capacity: 5)
        reader.start()
        var seen: [ReadTile] = []
        while case let batch = try await reader.nextBatch(maxCount: 7), !batch.isEmpty {
            #expect(batch.count <= 7)
            seen += batch
        }
        #expect(seen.map(\.tile) == grid.tiles)
        for read in seen.prefix(40) {
            #expect(read.image == (try slide.read(region: grid.region(of: read.tile), level: grid.scan.level)))
        }
    }

    @Test("a resized scan delivers patch-size images")
    func resized() async throws {
        let folder = try SharedSlides.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (slide, grid) = try Self.syntheticGrid(in: folder, targetMPP: 0.6)   // level 1 at 0.5: read 19, shrink
        #expect(grid.scan.needsResize && grid.regionSize == 19)
        let reader = TileReader(slide: slide, grid: grid)
        reader.start()
        let first = try #require(try await reader.next())
        #expect(first.image.width == 16 && first.image.height == 16)
        #expect(Array(first.image.pixels[0..<3]) == [245, 245, 245])   // glass block 0
        reader.cancel()
    }

    @Test("no more than `capacity` tiles are claimed ahead of a slow consumer; cancel ends the stream")
    func bounded() async throws {
        let folder = try SharedSlides.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (slide, grid) = try Self.syntheticGrid(in: folder)
        let reader = TileReader(slide: slide, grid: grid, threads: 2, capacity: 4)
        reader.start()
        try await Task.sleep(for: .milliseconds(300))
        #expect(reader.queue.claimedAhead == 4)
        _ = try await reader.next()
        try await Task.sleep(for: .milliseconds(200))
        #expect(reader.queue.claimedAhead == 4)
        reader.cancel()
        // Tiles already read may still come out; then nil, never a hang.
        var after = 0
        while try await reader.next() != nil { after += 1 }
        #expect(after <= 4)
    }

    @Test("a failed read: the tiles before it come out, then its error")
    func failure() async throws {
        let folder = try SharedSlides.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let slide = try Slide(path: SyntheticSlide.write(in: folder))
        let scan = try ScanLevel.choose(for: slide, targetMPP: 0.5, slideMPP: SyntheticSlide.micronsPerPixel)
        // A grid for a slide twice as wide: tiles past x = 512 are refused by Slide.read.
        let grid = try TileGrid(level0Width: 1024, level0Height: 64, scan: scan, patchSize: 16, stride: 16,
                                minTissue: 0, mask: nil)
        let reader = TileReader(slide: slide, grid: grid, threads: 2, capacity: 8)
        reader.start()
        var delivered = 0
        await #expect(throws: SlideError.self) {
            while try await reader.next() != nil { delivered += 1 }
        }
        #expect(delivered == 16)   // row 0, columns 0…15 (x < 512)
    }

    @Test("the blocking variant, from a thread of the caller's own")
    func blocking() throws {
        let folder = try SharedSlides.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (slide, grid) = try Self.syntheticGrid(in: folder)
        let reader = TileReader(slide: slide, grid: grid, threads: 2, capacity: 3)
        reader.start()
        var count = 0
        while let read = try reader.nextBlocking() {
            #expect(read.tile.index == count)
            count += 1
        }
        #expect(count == grid.tiles.count)
    }
}
