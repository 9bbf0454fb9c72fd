import ArgumentParser
import AutoencoderModel
import Foundation
import ImageCodecs
import InferenceService
import Scoring

/// `histoae score`: reconstruct patches, compare with the model card's calibration, print one record per
/// input (see docs/scoring.md).
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score 150×150 PNG/JPEG patches (files or folders): verdict, calibrated score (1 − false-positive rate), signals, flags.",
        discussion: """
            Output (stdout): --format json writes JSON lines, one object per input in input order: "path", then \
            either "error" or the score (statistics, method, score, threshold, fpr, threshold_source, anomalous, \
            verdict, percentile, score_statistic, deviation, flags, signals, percentiles, deviations, calibration, \
            model). --format csv writes a header and one row per input. An input that cannot be scored \
            (unreadable, not an image, not 150×150) gets a record with "error" and a line on stderr; the others \
            are still scored.

            Verdict: not_tissue (tissue fraction < \(Verdict.notTissueMaxFraction)), anomalous (score ≥ threshold), \
            or normal. The score is 1 − the estimated fraction of normal patches deviating as much, so \
            --threshold T flags about 1 − T of normal tissue: --fpr F is the same as --threshold 1−F. Flags name \
            the signals (high_error, stain, blur, background) that are unusual at the threshold.

            Methods: \(ScoreMethod.allCases.map { "\($0.rawValue) (\($0.formula))" }.joined(separator: "; ")).

            Exit status: 0 every input scored; 2 some inputs failed, the others were scored; 1 nothing could \
            be scored, or a fatal error (no model, no calibration block, weights not matching the card); \
            64 wrong arguments.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, csv }

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "json: JSON lines, one object per input; csv: header + one row per input.")
    var format: Format = .json

    @Option(help: "Write <name>_mse.png, <name>_ssim.png, <name>_stain.png and <name>_panel.png for every scored patch into this folder.")
    var maps: String?

    @OptionGroup var scoringOptions: ScoringOptions

    @OptionGroup var patchOptions: PatchOptions

    @OptionGroup var engineOptions: EngineOptions

    @Argument(help: "Patch files or folders (a folder contributes its .png/.jpg/.jpeg files, sorted by name).")
    var inputs: [String]

    func run() throws {
        let bundle = try modelOptions.load()
        guard let card = bundle.card else { throw CLIError(ScoringError.missingCard(weights: bundle.weightsURL.path).description) }
        let scorer = try scoringOptions.scorer(card: card)
        var mapsFolder: URL?
        if let maps {
            let url = URL(fileURLWithPath: maps)
            do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
                throw CLIError("\(maps): cannot create folder: \(error.localizedDescription)")
            }
            mapsFolder = url
        }
        let engine = InferenceEngine(model: bundle.model, scorer: scorer, configuration: engineOptions.configuration())
        engine.start()
        defer { engine.drainBlocking() }
        var run = ScoringRun(scorer: scorer, engine: engine,
                             batch: patchOptions.batch, limits: patchOptions.limits, mapsFolder: mapsFolder,
                             output: RecordWriter(format: format, precision: engine.precision))
        run.output.header()
        let files = InputFile.expand(inputs)
        let names = InputFile.uniqued(files.map(\.stem))
        for (file, name) in zip(files, names) { run.add(file, name: name) }
        run.flush()
        let scored = run.scored, failed = run.failed
        let verdicts = Verdict.allCases.map { "\(run.verdicts[$0, default: 0]) \($0.rawValue)" }.joined(separator: ", ")
        FileHandle.standardError.write(Data("scored \(scored) of \(scored + failed) input\(scored + failed == 1 ? "" : "s"): \(verdicts) (method \(scorer.method.rawValue), threshold \(scorer.threshold), fpr \(String(format: "%g", scorer.fpr)))\n".utf8))
        if scored == 0 { throw CLIError("nothing could be scored") }
        if failed > 0 { throw ExitCode(2) }
    }

}
