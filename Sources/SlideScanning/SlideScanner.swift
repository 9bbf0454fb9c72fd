import AutoencoderModel
import Foundation
import InferenceService
import Scoring
import SlideReading

/// Scans whole slides with the one engine: for each slide, opens it, picks the level closest to the model's
/// µm/px (its card's `input.mpp`; resized when no level matches), finds the tissue, lays the tile grid, runs every
/// tile through the engine (``TilePipeline``) and writes the four outputs into a folder of its own:
/// `tiles.csv` (or `.tsv`), `tiles.geojson`, `heatmap.png` and `summary.json` (``ScanOutputs``).
///
/// Used by `histoae scan`, and meant for the service's scan jobs: the caller owns the engine (shared with other
/// work or not), gets progress after every engine request, and cancels by cancelling the task that awaits
/// ``scan(slidePath:outputFolder:progress:)`` — the scan then stops reading, its queued patches are dropped,
/// its partial files are removed and it throws ``SlideScanError/cancelled(slide:)``.
///
/// ```swift
/// let engine = InferenceEngine(model: bundle.model, scorer: scorer, configuration: EngineConfiguration())
/// engine.start()
/// let scanner = try SlideScanner(engine: engine, scorer: scorer, card: bundle.card!, settings: ScanSettings())
/// let summary = try await scanner.scan(slidePath: "cmu-1-small-region.svs", outputFolder: URL(fileURLWithPath: "out/cmu-1"),
///                                      progress: { print("\($0.done)/\($0.total)") })
/// print(summary.verdicts.anomalous, summary.timings.tilesPerSecond)
/// ```
public struct SlideScanner: Sendable {
    public let engine: InferenceEngine
    /// The scorer the engine was built with (its identity and threshold go into the outputs).
    public let scorer: PatchScorer
    /// The model's µm/px.
    public let modelMPP: Double
    public let settings: ScanSettings
    /// Model pixels per tile side.
    public let patchSize = CNNAutoencoder3.inputSize

    /// - Throws: ``SlideScanError/modelScale(_:)`` when the card has no `input.mpp`;
    ///   ``SlideScanError/invalidSettings(_:)``.
    public init(engine: InferenceEngine, scorer: PatchScorer, card: ModelCard, settings: ScanSettings) throws(SlideScanError) {
        try self.init(engine: engine, scorer: scorer, modelMPP: try ModelScale.micronsPerPixel(of: card), settings: settings)
    }

    public init(engine: InferenceEngine, scorer: PatchScorer, modelMPP: Double, settings: ScanSettings) throws(SlideScanError) {
        try settings.validate()
        self.engine = engine
        self.scorer = scorer
        self.modelMPP = modelMPP
        self.settings = settings
    }

    /// Plans the scan of one slide (open, level, tissue, grid) without reading a tile: what `--dry-run`-like
    /// callers and the service's admission check need.
    public func plan(slidePath: String) throws(SlideScanError) -> SlideScanPlan {
        try SlideScanPlan.prepare(slidePath: slidePath, modelMPP: modelMPP, patchSize: patchSize, settings: settings)
    }

    /// Scans one slide into `outputFolder` (created if needed; older outputs there are replaced).
    ///
    /// - Parameter progress: called after every engine request's results are written (on the scanning task).
    /// - Throws: ``SlideScanError`` — the slide (missing, corrupt, unsupported, no resolution), an engine failure,
    ///   an output that cannot be written, or ``SlideScanError/cancelled(slide:)``. Nothing half-written is left
    ///   under the final names.
    public func scan(slidePath: String, outputFolder: URL,
                     progress: @Sendable (ScanProgress) -> Void = { _ in }) async throws(SlideScanError) -> ScanSummary {
        let plan = try plan(slidePath: slidePath)
        return try await scan(plan: plan, outputFolder: outputFolder, progress: progress)
    }

    /// Scans a planned slide (``plan(slidePath:)``) into `outputFolder`.
    public func scan(plan: SlideScanPlan, outputFolder: URL,
                     progress: @Sendable (ScanProgress) -> Void = { _ in }) async throws(SlideScanError) -> ScanSummary {
        let context = ScanContext(plan: plan, scorer: scorer, precision: engine.precision, modelMPP: modelMPP,
                                  settings: settings)
        let outputs = try ScanOutputs(folder: outputFolder, context: context)
        let started = ContinuousClock.now
        do {
            try await TilePipeline.run(plan: plan, engine: engine, settings: settings,
                                       consume: { (tile: ScannedTile) throws(SlideScanError) in try outputs.add(tile) },
                                       progress: progress)
            return try outputs.finish(scanSeconds: (ContinuousClock.now - started).seconds)
        } catch {
            outputs.discard()
            throw error
        }
    }
}
