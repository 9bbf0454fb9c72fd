import Foundation
import SlideReading
import Testing
@testable import SlideScanning

/// Bad input is one clear error, never a crash, and leaves no output that looks finished.
@Suite("Scan errors: one readable line, nothing half-written", .enabled(if: ScanFixtures.available, ScanFixtures.skipReason))
struct ScanErrorTests {
    /// The error scanning `slide` throws, and whether it left its output folder behind.
    static func failure(_ slide: String, settings: ScanSettings = ScanSettings()) async throws
        -> (SlideScanError, leftFolder: Bool) {
        let (scanner, engine) = try ScanFixtures.scanner(settings: settings)
        let temporary = try ScanFixtures.temporaryFolder(), folder = temporary.appendingPathComponent("out")
        defer { try? FileManager.default.removeItem(at: temporary) }
        do {
            _ = try await scanner.scan(slidePath: slide, outputFolder: folder)
        } catch {
            await engine.drain()
            return (error, FileManager.default.fileExists(atPath: folder.path))
        }
        await engine.drain()
        Issue.record("\(slide) was scanned")
        throw CancellationError()
    }

    @Test("broken.svs: not a slide OpenSlide can read")
    func broken() async throws {
        let (error, leftFolder) = try await Self.failure(ScanFixtures.broken)
        #expect(error == .slide(.unsupportedFormat(path: ScanFixtures.broken)))
        #expect(error.description == "broken.svs: not a whole-slide image OpenSlide 3.4.1 can read (unsupported format or corrupt file)")
        #expect(!leftFolder)
    }

    @Test("a slide without resolution metadata needs --slide-mpp; with it, it is planned")
    func noResolution() async throws {
        let (error, leftFolder) = try await Self.failure(ScanFixtures.tcga)
        #expect(error == .slide(.noResolution(path: ScanFixtures.tcga)))
        #expect(error.description.hasPrefix("tcga-cr-7395-01a-01-ts1.svs: the slide has no resolution metadata"))
        #expect(error.description.contains("--slide-mpp") && !error.description.contains("\n"))
        #expect(!leftFolder)
        var settings = ScanSettings()
        settings.slideMPP = 1.0
        let (scanner, engine) = try ScanFixtures.scanner(settings: settings)
        let plan = try scanner.plan(slidePath: ScanFixtures.tcga)
        await engine.drain()
        // 1 µm/px is twice the model's 0.499: level 0 is the closest, read at half the patch size and enlarged.
        #expect(plan.scan.level == 0 && plan.scan.needsResize && plan.grid.regionSize == 75)
        #expect(plan.resolutionSource == .given && plan.grid.tiles.count > 1000)
    }

    @Test("a missing file, a folder and a text file are refused by name")
    func notSlides() async throws {
        let folder = try ScanFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("notes.svs")
        try Data("not a slide\n".utf8).write(to: text)
        #expect(try await Self.failure(folder.appendingPathComponent("absent.svs").path).0.description == "absent.svs: no such file")
        #expect(try await Self.failure(folder.path).0.description.hasSuffix(": cannot be read (it is a directory)"))
        #expect(try await Self.failure(text.path).0 == .slide(.unsupportedFormat(path: text.path)))
    }

    @Test("settings out of range name their flag", arguments: [
        ("stride", "--stride"), ("min", "--min-tissue"), ("mpp", "--slide-mpp"), ("batch", "--batch"),
    ])
    func settings(field: String, flag: String) throws {
        var settings = ScanSettings()
        switch field {
        case "stride": settings.stride = 0
        case "min": settings.minTissue = 1.5
        case "mpp": settings.slideMPP = -1
        default: settings.batch = 5000
        }
        #expect(throws: SlideScanError.self) { try settings.validate() }
        do { try settings.validate() } catch { #expect(error.description.hasPrefix(flag)) }
        var nan = ScanSettings()
        nan.minTissue = .nan
        #expect(throws: SlideScanError.self) { try nan.validate() }
    }

    @Test("a model card without input.mpp cannot scan; one with it gives its µm/px")
    func modelScale() throws {
        #expect(try ModelScale.micronsPerPixel(of: ScanFixtures.card) == 0.499)
        for json in [#"{"input": {"width": 150}}"#, #"{"input": {"mpp": true}}"#, #"{"input": {"mpp": -0.5}}"#, "[1]", "{"] {
            #expect(throws: SlideScanError.self) { try ModelScale.micronsPerPixel(cardJSON: Data(json.utf8), name: "m") }
        }
        do { _ = try ModelScale.micronsPerPixel(cardJSON: Data("{}".utf8), name: "m") } catch {
            #expect(error.description.contains("input.mpp"))
        }
    }

    @Test("cancelling the scanning task stops it, throws cancelled and leaves no file, final or partial, nor its folder")
    func cancellation() async throws {
        let folder = try ScanFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let slide = try LayoutSlide.write(in: folder)
        var settings = LayoutSlide.settings
        settings.batch = 2
        let (scanner, engine) = try ScanFixtures.scanner(settings: settings, passDelay: .milliseconds(100))
        let out = folder.appendingPathComponent("out")
        let started = AsyncStream<Void>.makeStream()
        let task = Task {
            try await scanner.scan(slidePath: slide, outputFolder: out, progress: { if $0.done > 0 { started.continuation.yield() } })
        }
        for await _ in started.stream { break }
        task.cancel()
        let result = await task.result
        await engine.drain()
        #expect(throws: SlideScanError.cancelled(slide: slide)) { try result.get() }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "the emptied folder is removed too")
    }
}
