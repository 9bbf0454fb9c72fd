import Foundation
import Scoring
import Testing
@testable import SlideScanning

@Suite("tiles.csv / tiles.tsv: a header and one row per tile, in histoae score's words", .enabled(if: ScanFixtures.available, ScanFixtures.skipReason))
struct TileTableTests {
    @Test("the header, then one row per scanned tile with every field")
    func csv() async throws {
        let (summary, folder) = try await LayoutScan.result.value
        let (header, rows) = try LayoutScan.table(folder)
        #expect(header == TileTableWriter.header)
        #expect(rows.count == summary.tilesScanned)
        #expect(rows.count == summary.verdicts.normal + summary.verdicts.anomalous + summary.verdicts.notTissue)
        #expect(Set(rows.map { $0["tile"]! }).count == rows.count)
        for row in rows { #expect(row.count == header.count && row["model_sha256"] == summary.model.weightsSHA256) }
        // The score's vocabulary: each statistic, each signal's deviation, the verdict and flag words.
        let words = Set(header)
        for statistic in Statistic.allCases { #expect(words.contains(statistic.rawValue)) }
        for signal in ArtefactSignal.allCases { #expect(words.contains("\(signal.rawValue)_deviation")) }
        #expect(["score", "threshold", "fpr", "verdict", "flags", "method", "calibration_source"].allSatisfy(words.contains))
        #expect(rows.allSatisfy { Verdict(rawValue: $0["verdict"]!) != nil })
        let counted = Dictionary(grouping: rows, by: { $0["verdict"]! }).mapValues(\.count)
        #expect(counted["anomalous", default: 0] == summary.verdicts.anomalous)
    }

    @Test("--format tsv writes tiles.tsv, tab-separated, the same columns")
    func tsv() async throws {
        let folder = try ScanFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var settings = LayoutSlide.settings
        settings.tableFormat = .tsv
        settings.stride = 300                       // every other cell: a quick scan
        let (summary, out) = try await ScanFixtures.scan(try LayoutSlide.write(in: folder), settings: settings)
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("tiles.csv").path))
        let (header, rows) = try LayoutScan.table(out, name: "tiles.tsv", separator: "\t")
        #expect(header == TileTableWriter.header && rows.count == summary.tilesScanned && rows.count > 0)
        #expect(rows.allSatisfy { $0.count == header.count })
        #expect(summary.outputs == ["tiles.tsv", "tiles.geojson", "heatmap.png", "summary.json"])
    }
}
