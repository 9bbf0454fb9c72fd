import AutoencoderModel
import Foundation
import Scoring
import SlideReading

/// What a scan needs to describe its results: the plan, the scorer the engine judges with, the precision its
/// model runs in, the model's µm/px and the settings.
public struct ScanContext: Sendable {
    public let plan: SlideScanPlan
    /// The engine's scorer: its model and calibration identity, method and threshold go into every output.
    public let scorer: PatchScorer
    /// The engine's ``InferenceService/InferenceEngine/precision``: every output names it beside the model.
    public let precision: ModelPrecision
    public let modelMPP: Double
    public let settings: ScanSettings
}

/// The four outputs of one slide in its folder, fed tile by tile: `tiles.csv` (or `.tsv`) and `tiles.geojson`
/// streamed as results arrive, `heatmap.png` painted as they arrive and `summary.json` from the tally. Each file
/// is written as `<name>.partial` and renamed into place by ``finish(scanSeconds:)``; ``discard()`` removes
/// them when the scan fails or is cancelled.
///
/// ```swift
/// let outputs = try ScanOutputs(folder: folder, context: context)
/// try outputs.add(scannedTile)                       // for every tile, in reading order
/// let summary = try outputs.finish(scanSeconds: 12.5)
/// ```
final class ScanOutputs {
    let folder: URL
    let context: ScanContext
    private let table: TileTableWriter
    private let geojson: TileGeoJSONWriter
    private let heatmap: ScanHeatmap
    private(set) var tally = ScanTally()

    init(folder: URL, context: ScanContext) throws(SlideScanError) {
        self.folder = folder
        self.context = context
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw .output(path: folder.path, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        heatmap = try ScanHeatmap(plan: context.plan, maxSide: context.settings.heatmapMaxSide)
        table = try TileTableWriter(folder: folder, format: context.settings.tableFormat, precision: context.precision)
        do { geojson = try TileGeoJSONWriter(folder: folder, context: context) } catch {
            table.discard()
            throw error
        }
    }

    func add(_ scanned: ScannedTile) throws(SlideScanError) {
        try table.write(scanned)
        try geojson.write(scanned)
        heatmap.add(scanned)
        tally.add(scanned)
    }

    /// Draws the heatmap, writes the summary and puts every file in place.
    func finish(scanSeconds: Double) throws(SlideScanError) -> ScanSummary {
        let started = ContinuousClock.now
        let plan = context.plan, scorer = context.scorer
        let file = SlideScanError.name(plan.slide.path)
        let title = "\(file): \(tally.tiles) tiles, \(tally.verdicts.anomalous) anomalous, "
            + "\(tally.verdicts.normal) normal, \(tally.verdicts.notTissue) not tissue"
        let legend = [
            "red outline: anomalous tiles; black line: tissue outline",
            "model \(scorer.model.name) \(scorer.model.version) (\(context.precision.rawValue)), "
                + "method \(scorer.method.rawValue), threshold \(format(scorer.threshold)) (fpr \(format(scorer.fpr)))",
            "level \(plan.scan.level) at \(format(plan.scan.levelMPP)) um/px\(plan.scan.needsResize ? " resized to \(format(plan.scan.targetMPP))" : ""), "
                + "tiles of \(plan.grid.level0TileSide) level-0 px, stride \(plan.grid.stride) model px",
        ]
        let png = try heatmap.png(title: title, legend: legend, threshold: scorer.threshold)
        let heatmapFile = try OutputFile(folder.appendingPathComponent(ScanHeatmap.fileName))
        try heatmapFile.write(bytes: png)
        var summary = makeSummary(scanSeconds: scanSeconds, finishSeconds: 0)
        let summaryFile = try OutputFile(folder.appendingPathComponent(ScanSummary.fileName))
        do {
            try table.commit()
            try geojson.commit()
            try heatmapFile.commit()
            summary.timings.finishSeconds = (ContinuousClock.now - started).seconds
            summary.timings.totalSeconds += summary.timings.finishSeconds
            try summaryFile.write(bytes: [UInt8](try summary.encoded()))
            try summaryFile.commit()
        } catch {
            heatmapFile.discard()
            summaryFile.discard()
            throw error
        }
        return summary
    }

    /// Removes the files of an unfinished scan, and its folder when that is left empty.
    func discard() {
        table.discard()
        geojson.discard()
        rmdir(folder.path)   // fails, harmlessly, when the folder holds anything else
    }

    private func makeSummary(scanSeconds: Double, finishSeconds: Double) -> ScanSummary {
        let plan = context.plan, slide = plan.slide, scan = plan.scan, grid = plan.grid, scorer = context.scorer
        let info = ScanSummary.SlideInfo(file: SlideScanError.name(slide.path), vendor: slide.vendor,
                                         width: slide.level0.width, height: slide.level0.height,
                                         levels: slide.levels.count, mppX: slide.mppX, mppY: slide.mppY,
                                         mpp: scan.slideMPP, mppSource: plan.resolutionSource,
                                         openslideVersion: Slide.openSlideVersion)
        let scanInfo = ScanSummary.ScanInfo(level: scan.level, downsample: scan.downsample, levelMPP: scan.levelMPP,
                                            modelMPP: context.modelMPP, resized: scan.needsResize,
                                            readSide: grid.regionSize, tileSide: grid.level0TileSide,
                                            patchSize: grid.patchSize, stride: grid.stride, minTissue: grid.minTissue,
                                            columns: grid.columns, rows: grid.rows, tiles: grid.tiles.count,
                                            tissueArea: plan.mask.tissueArea, maskWidth: plan.mask.width,
                                            maskHeight: plan.mask.height, maskMPP: plan.mask.micronsPerPixel)
        let total = plan.openSeconds + plan.tissueSeconds + plan.gridSeconds + scanSeconds + finishSeconds
        let timings = ScanSummary.Timings(openSeconds: plan.openSeconds, tissueSeconds: plan.tissueSeconds,
                                          gridSeconds: plan.gridSeconds, scanSeconds: scanSeconds,
                                          finishSeconds: finishSeconds, totalSeconds: total,
                                          tilesPerSecond: scanSeconds > 0 ? Double(tally.tiles) / scanSeconds : 0)
        let outputs = [context.settings.tableFormat.fileName, TileGeoJSONWriter.fileName, ScanHeatmap.fileName,
                       ScanSummary.fileName]
        return ScanSummary(slide: info, scan: scanInfo, tilesScanned: tally.tiles, verdicts: tally.verdicts,
                           flags: tally.flags, mostAnomalous: tally.top, timings: timings, model: scorer.model,
                           precision: context.precision.rawValue,
                           calibration: CalibrationIdentity(source: scorer.calibration.source,
                                                            patches: scorer.calibration.patches),
                           method: scorer.method, threshold: scorer.threshold, fpr: scorer.fpr,
                           thresholdSource: scorer.thresholdSource, outputs: outputs)
    }

    private func format(_ value: Double) -> String { String(format: "%g", value) }
}
