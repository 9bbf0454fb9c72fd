import AutoencoderModel
import Foundation
import InferenceService
import Scoring
import Testing
@testable import SlideScanning

/// Every output of a scan names the precision the engine's model ran in: `summary.json`'s `precision`, the
/// table's `precision` column and the GeoJSON collection's `properties.precision`. The scan runs a model loaded
/// at bf16, so a value that did not come from the engine would show.
@Suite("scan outputs name the precision", .enabled(if: ScanFixtures.available, ScanFixtures.skipReason))
struct ScanPrecisionTests {
    static let bf16Runs = ModelPrecision.bf16.runnable() == .bf16

    @Test("the default scan (fp32) says fp32 in the summary and on every row")
    func fp32() async throws {
        let (summary, folder) = try await LayoutScan.result.value
        #expect(summary.precision == ScanFixtures.bundle.model.precision.rawValue)
        let (header, rows) = try LayoutScan.table(folder)
        #expect(header.last == "precision" && rows.allSatisfy { $0["precision"] == summary.precision })
    }

    @Test("a bf16 engine: summary.json, tiles.csv and tiles.geojson all say bf16",
          .enabled(if: bf16Runs, "this CPU cannot run bf16 (no AVX512-BF16, or HISTOAE_GEMM=openblas): it would load fp32"))
    func bf16() async throws {
        let folder = try ScanFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bundle = try ModelBundle.load(ScanFixtures.repository.appendingPathComponent("models/default"), precision: .bf16)
        try #require(bundle.model.precision == .bf16)
        let scorer = try PatchScorer(card: ScanFixtures.card)
        let engine = InferenceEngine(model: bundle.model, scorer: scorer, configuration: EngineConfiguration(workers: 2))
        engine.start()
        var settings = LayoutSlide.settings
        settings.stride = 300                       // every other cell: a quick scan
        let scanner = try SlideScanner(engine: engine, scorer: scorer, card: ScanFixtures.card, settings: settings)
        let out = folder.appendingPathComponent("out")
        let summary: ScanSummary
        do { summary = try await scanner.scan(slidePath: try LayoutSlide.write(in: folder), outputFolder: out) } catch {
            await engine.drain()
            throw error
        }
        await engine.drain()
        #expect(summary.precision == "bf16" && summary.tilesScanned > 0)

        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as? [String: Any]
        #expect(written?["precision"] as? String == "bf16")
        let (header, rows) = try LayoutScan.table(out)
        #expect(header == TileTableWriter.header && rows.count == summary.tilesScanned)
        #expect(rows.allSatisfy { $0["precision"] == "bf16" })
        let geojson = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("tiles.geojson"))) as? [String: Any]
        #expect((geojson?["properties"] as? [String: Any])?["precision"] as? String == "bf16")
    }
}
