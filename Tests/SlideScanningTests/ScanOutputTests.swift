import Foundation
import ImageCodecs
import Scoring
import Testing
@testable import SlideScanning

@Suite("summary.json, heatmap.png and the pieces behind them")
struct ScanOutputTests {
    @Test("summary.json decodes to the returned summary: counts, top tiles, identity, timings", .enabled(if: ScanFixtures.available, ScanFixtures.skipReason))
    func summary() async throws {
        let (summary, folder) = try await LayoutScan.result.value
        let written = try JSONDecoder().decode(ScanSummary.self, from: Data(contentsOf: folder.appendingPathComponent("summary.json")))
        #expect(written == summary)
        #expect(summary.slide.file == "layout.tiff" && summary.slide.width == 1800 && summary.slide.height == 1200)
        #expect(summary.slide.levels == 3 && summary.scan.modelMPP == 0.499)
        #expect(summary.tilesScanned == summary.scan.tiles)
        #expect(summary.mostAnomalous.count == min(ScanSummary.topCount, summary.verdicts.normal + summary.verdicts.anomalous))
        #expect(zip(summary.mostAnomalous, summary.mostAnomalous.dropFirst()).allSatisfy { $0.score >= $1.score })
        #expect(summary.mostAnomalous.allSatisfy { $0.verdict != .notTissue })
        #expect(summary.threshold == 0.99 && abs(summary.fpr - 0.01) < 1e-12 && summary.method == .signals)
        #expect(summary.timings.tilesPerSecond > 0 && summary.timings.totalSeconds >= summary.timings.scanSeconds)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(files == ["heatmap.png", "summary.json", "tiles.csv", "tiles.geojson"])
    }

    @Test("heatmap.png is a PNG wider than the slide picture, with the slide's colours and the colour bar's", .enabled(if: ScanFixtures.available, ScanFixtures.skipReason))
    func heatmap() async throws {
        let (_, folder) = try await LayoutScan.result.value
        let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent("heatmap.png")))
        let image = try ImageDecoder.decode(bytes)
        #expect(image.width >= 640 && image.height > 400)
        // Viridis from near its start to near its end appears (the colour bar), as does the red of the outlines.
        func key(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int { Int(r) << 16 | Int(g) << 8 | Int(b) }
        var colours = Set<Int>()
        for at in stride(from: 0, to: image.pixels.count, by: 3) {
            colours.insert(key(image.pixels[at], image.pixels[at + 1], image.pixels[at + 2]))
        }
        let first = Colormap.viridis(1 / 255), last = Colormap.viridis(254 / 255)
        #expect(colours.contains(key(first.r, first.g, first.b)) && colours.contains(key(last.r, last.g, last.b)))
        #expect(colours.contains(230 << 16))
    }

    @Test("colour positions: log scale of the false-positive rate, clamped")
    func positions() {
        #expect(ScanHeatmap.position(ofScore: 0) == 0)
        #expect(abs(ScanHeatmap.position(ofScore: 0.9) - 0.25) < 1e-9)
        #expect(abs(ScanHeatmap.position(ofScore: 0.99) - 0.5) < 1e-9)
        #expect(ScanHeatmap.position(ofScore: 1) == 1 && ScanHeatmap.position(ofScore: 2) == 1)
        #expect(ScanHeatmap.position(ofScore: -1) == 0 && ScanHeatmap.position(ofScore: .nan) == 0)
    }

    @Test("JSON text: escapes and non-finite numbers")
    func jsonText() throws {
        let tricky = "a \"b\" \\ c\nd\u{1}é"
        let literal = JSONText.string(tricky)
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(literal)]".utf8)) as? [String]
        #expect(decoded == [tricky])
        #expect(JSONText.number(.nan) == "null" && JSONText.number(.infinity) == "null" && JSONText.number(0.5) == "0.5")
    }

    @Test("progress: rate and time left")
    func progress() {
        let progress = ScanProgress(done: 50, total: 200, elapsedSeconds: 5)
        #expect(progress.tilesPerSecond == 10 && progress.remainingSeconds == 15)
        #expect(ScanProgress(done: 0, total: 10, elapsedSeconds: 0).remainingSeconds == nil)
    }

    @Test("the tally keeps the most anomalous tissue tiles: highest score, then deviation, then reading order")
    func ranking() {
        func top(_ tile: Int, _ score: Double, _ deviation: Double) -> ScanSummary.TopTile {
            ScanSummary.TopTile(tile: tile, x: 0, y: 0, width: 1, height: 1, score: score, verdict: .normal, flags: [],
                                scoreStatistic: .mse, deviation: deviation)
        }
        #expect(ScanTally.ranksBefore(top(5, 0.9, 0), top(1, 0.8, 9)))
        #expect(ScanTally.ranksBefore(top(5, 0.9, 2), top(1, 0.9, 1)))
        #expect(ScanTally.ranksBefore(top(1, 0.9, 1), top(5, 0.9, 1)))
        #expect(ScanTally.ranksBefore(top(5, 0.1, 0), top(1, .nan, 0)))
    }
}
