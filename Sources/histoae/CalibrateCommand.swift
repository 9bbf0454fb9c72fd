import ArgumentParser
import AutoencoderModel
import Foundation
import InferenceService
import Scoring

/// `histoae calibrate`: recalibrate a model on a site's normal patches, without PyTorch — the same block
/// `python -m histoae_training calibrate` computes (docs/scoring.md, "Calibration"), written into a new model
/// folder with the weights copied unchanged.
///
/// ```sh
/// histoae calibrate --model models/default --source "site B normal colon, 2026-11" --output models/site-b normals/
/// histoae score --model models/site-b patches/
/// ```
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Recalibrate a model's scores on normal 150×150 patches (files or folders); writes a new model folder.",
        discussion: """
            Every patch runs through the engine; the stain plane is fitted on all of them, then each patch's \
            statistics are measured against it, and the calibration block (statistics, stain plane, one \
            false-positive table per score method) is built from them. Needs at least \(Calibration.minimumPatches) \
            usable patches of NORMAL tissue. A file that is not a readable 150×150 PNG/JPEG is reported on stderr \
            and skipped.

            Writes OUTPUT/model.json (the card with the new calibration and version; every other key unchanged) and \
            OUTPUT/model.safetensors (the weights, copied). OUTPUT must be a new or empty folder. Prints the stain \
            plane, the false-positive rate to expect at the default threshold and each signal's range on the \
            calibration patches.

            Exit status: 0 written; 1 fewer than \(Calibration.minimumPatches) usable patches, or a fatal error \
            (nothing written); 64 wrong arguments.
            """)

    @Option(help: "The model to calibrate: a folder (model.safetensors + model.json) or a .safetensors file with model.json beside it.")
    var model: String

    @Option(help: "What the normal patches are (stored in the card's calibration block), e.g. \"site B normal colon, 2026-11\".")
    var source: String

    @Option(help: "The new model folder to write (must not exist, or be empty).")
    var output: String

    @Option(help: "The new card's version (default: the old X.Y.Z + \"+cal.\" + the first 8 hex digits of the sha256 of the new block).")
    var version: String?

    @OptionGroup var patchOptions: PatchOptions

    @OptionGroup var engineOptions: EngineOptions

    @Argument(help: "Normal patch files or folders (a folder contributes its .png/.jpg/.jpeg files, sorted by name).")
    var inputs: [String]

    func validate() throws {
        guard source.contains(where: { !$0.isWhitespace }) else { throw ValidationError("--source must describe the normal patches") }
        if let version, !SemanticVersion.isValid(version) {
            throw ValidationError("--version must be a semantic version X.Y.Z[-pre][+build], got \(version)")
        }
    }

    func run() throws {
        let bundle: ModelBundle
        do { bundle = try ModelBundle.load(URL(fileURLWithPath: model)) } catch { throw CLIError(error.description) }
        guard let card = bundle.card else {
            throw CLIError("\(bundle.weightsURL.path) has no model card (model.json) beside it; calibrate writes a new card from it")
        }
        var cardJSON: OrderedJSON
        do { cardJSON = try OrderedJSON.parse([UInt8](card.json)) } catch { throw CLIError("model.json: \(error.description)") }
        let target = try CalibratedModelFolder(output: output, modelFolder: bundle.weightsURL.deletingLastPathComponent())
        if version == nil, SemanticVersion.core(of: card.version) == nil {
            throw CLIError("the model's version \(card.version) is not semantic (X.Y.Z); give the new one with --version")
        }

        let files = InputFile.expand(inputs)
        let fit = CalibrationPasses.fitStainPlane(files, limits: patchOptions.limits)
        guard fit.usable.count >= Calibration.minimumPatches else {
            throw CLIError(ScoringError.tooFewCalibrationPatches(count: fit.usable.count, minimum: Calibration.minimumPatches).description
                + (fit.skipped > 0 ? " usable (\(fit.skipped) of \(files.count) inputs skipped)" : ""))
        }
        let plane: StainPlane
        do { plane = try fit.scatter.plane() } catch { throw CLIError(error.description) }

        let engine = InferenceEngine(model: bundle.model, scorer: nil,
                                     configuration: engineOptions.configuration(
                                        queueCapacity: max(EngineConfiguration.defaultQueueCapacity, patchOptions.batch)))
        engine.start()
        let statistics: [PatchStatistics]
        do {
            defer { engine.drainBlocking() }
            statistics = try CalibrationPasses(engine: engine, batch: patchOptions.batch, limits: patchOptions.limits)
                .statistics(of: fit.usable, plane: plane)
        }
        var builder = CalibrationBuilder(stainPlane: plane)
        let calibration: Calibration
        do {
            for s in statistics { try builder.add(s) }
            calibration = try builder.build(source: source)
        } catch { throw CLIError(error.description) }

        let block: OrderedJSON
        do { block = try CalibrationJSON.block(calibration) } catch { throw CLIError("calibration block: \(error)") }
        let newVersion = version ?? CalibrationJSON.version(after: card.version, block: block)!
        cardJSON["version"] = .string(newVersion)
        cardJSON["calibration"] = block
        if cardJSON["weights"]?["file"]?.string != CalibratedModelFolder.weightsFile {
            cardJSON["weights"]?["file"] = .string(CalibratedModelFolder.weightsFile)   // the name HistoAE loads
        }
        try target.write(card: PythonJSON.pretty(cardJSON), weights: bundle.weightsURL, sha256: card.weights.sha256)

        let identity = ModelIdentity(name: card.name, version: newVersion, weightsSHA256: card.weights.sha256)
        let summary: CalibrationSummary
        do { summary = try CalibrationSummary(calibration: calibration, statistics: statistics, model: identity) } catch {
            throw CLIError(error.description)
        }
        let skipped = fit.skipped > 0 ? " (\(fit.skipped) of \(files.count) inputs skipped)" : ""
        print("\(card.name) \(card.version) → \(newVersion): calibrated on \(calibration.patches) patches\(skipped)")
        print("wrote \(URL(fileURLWithPath: output).appendingPathComponent(CalibratedModelFolder.cardFile).relativePath) and \(CalibratedModelFolder.weightsFile)")
        for line in summary.lines { print(line) }
    }
}
