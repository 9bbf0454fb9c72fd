import ArgumentParser
import AutoencoderModel
import Foundation
import InferenceService
import Scoring
import SlideScanning

/// `histoae scan SLIDE... --out DIR`: scans whole slides tile by tile through the one engine and writes, per
/// slide, `DIR/<slide name>/` with `tiles.csv` (or `.tsv`), `tiles.geojson` (QuPath detections), `heatmap.png`
/// and `summary.json` (SlideScanning's ``SlideScanner``).
///
/// ```sh
/// histoae scan ../shared/data/slides/cmu-1-small-region.svs --out scans
/// histoae scan slide.tiff --slide-mpp 0.25 --stride 75 --min-tissue 0.3 --fpr 0.001 --format tsv --out scans
/// ```
struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan whole slides (SVS, tiled TIFF, NDPI, MRXS, … via OpenSlide): per-tile verdicts, QuPath GeoJSON, heatmap, summary.",
        discussion: """
            For each slide: the pyramid level closest to the model card's µm/px (input.mpp) is read (tiles are \
            resized when no level is within \(Int(ScanSettings.levelMatchTolerance * 100)) % of it), tissue is found on a thumbnail \
            (\(Int(ScanSettings().tissue.micronsPerPixel)) µm/px; adipose kept), a grid of \(ScanSettings.defaultStride)-pixel \
            tiles is laid over it every --stride model pixels, keeping tiles with at least --min-tissue tissue, and \
            every tile is scored like `histoae score` does. Coordinates are level-0 pixels.

            Output, per slide, in --out/<slide file name without extension>/: tiles.csv or tiles.tsv (one row per \
            tile: tile, x, y, width, height, column, row, mask_tissue, then the columns of `histoae score --format \
            csv`), tiles.geojson (a FeatureCollection QuPath imports as detections: one polygon per tile, class = \
            verdict, measurements = score and statistics), heatmap.png (the score over the slide, log scale of \
            the false-positive rate, tissue outline, anomalous tiles outlined) and summary.json (slide metadata, \
            counts per verdict and flag, the \(ScanSummary.topCount) most anomalous tiles, timings, model, \
            calibration, threshold). Files appear only when complete. stdout: each finished slide's folder; stderr: \
            one summary line per slide, and a progress bar when stderr is a terminal.

            A slide without resolution metadata needs --slide-mpp (its level-0 µm per pixel).

            Exit status: 0 every slide scanned; 2 some slides failed (one line each on stderr), the others were \
            scanned; 1 nothing could be scanned, or a fatal error (no model, no calibration block, no input.mpp); \
            64 wrong arguments; 130 interrupted (Ctrl-C: unfinished outputs removed).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, tsv }

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Folder for the results: one subfolder per slide, named after the slide file.")
    var out: String

    @Option(help: "Per-tile table: csv (tiles.csv) or tsv (tiles.tsv).")
    var format: Format = .csv

    @OptionGroup var scoringOptions: ScoringOptions

    @Option(help: "Step between tiles in model pixels (\(ScanSettings.strideRange.lowerBound)…\(ScanSettings.strideRange.upperBound); the patch size \(ScanSettings.defaultStride) gives non-overlapping tiles).")
    var stride: Int = ScanSettings.defaultStride

    @Option(name: .customLong("min-tissue"), help: "Least fraction of a tile the tissue mask must cover for the tile to be scanned, in [0, 1].")
    var minTissue: Double = ScanSettings.defaultMinTissue

    @Option(name: .customLong("slide-mpp"), help: "The slides' level-0 µm per pixel, overriding the files' (needed for a slide without resolution metadata).")
    var slideMPP: Double?

    @Option(help: "Tiles handed to the engine per request (\(ScanSettings.batchRange.lowerBound)…\(ScanSettings.batchRange.upperBound)).")
    var batch: Int = ScanSettings.defaultBatch

    @OptionGroup var engineOptions: EngineOptions

    @Argument(help: "Whole-slide image files.")
    var slides: [String]

    func validate() throws {
        do { try settings.validate() } catch { throw ValidationError(error.description) }
        guard !slides.isEmpty else { throw ValidationError("give at least one slide") }
    }

    var settings: ScanSettings {
        var settings = ScanSettings()
        settings.stride = stride
        settings.minTissue = minTissue
        settings.slideMPP = slideMPP
        settings.batch = batch
        settings.tableFormat = format == .csv ? .csv : .tsv
        return settings
    }

    func run() async throws {
        let bundle = try modelOptions.load()
        guard let card = bundle.card else { throw CLIError(ScoringError.missingCard(weights: bundle.weightsURL.path).description) }
        let scorer = try scoringOptions.scorer(card: card)
        let engine = InferenceEngine(model: bundle.model, scorer: scorer, configuration: engineOptions.configuration())
        let scanner: SlideScanner
        do { scanner = try SlideScanner(engine: engine, scorer: scorer, card: card, settings: settings) } catch {
            throw CLIError(error.description)
        }
        engine.start()
        let run = ScanRun(scanner: scanner, slides: slides, out: URL(fileURLWithPath: out))
        let outcome = await ScanInterruption.cancellingOnSIGINT { await run.scanAll() }
        await engine.drain()
        if outcome.interrupted {
            FileHandle.standardError.write(Data("histoae scan: interrupted; unfinished outputs removed\n".utf8))
            throw ExitCode(130)
        }
        if outcome.scanned == 0 { throw CLIError("no slide could be scanned") }
        if outcome.failed > 0 { throw ExitCode(2) }
    }
}
