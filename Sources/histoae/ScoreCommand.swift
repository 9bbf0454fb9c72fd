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
        abstract: "Score 150×150 PNG/JPEG patches (files or folders): calibrated anomaly score, percentile, flags.",
        discussion: """
            Output (stdout): --format json writes JSON lines, one object per input in input order: "path", then \
            either "error" or the score (statistics, method, score, threshold, threshold_source, anomalous, \
            percentile, score_statistic, deviation, flags, percentiles, deviations, model). --format csv writes \
            a header and one row per input. An input that cannot be scored (unreadable, not an image, not \
            150×150) gets a record with "error" and a line on stderr; the others are still scored.

            Methods: \(ScoreMethod.allCases.map { "\($0.rawValue) (\($0.formula))" }.joined(separator: "; ")).

            Exit status: 0 every input scored; 2 some inputs failed, the others were scored; 1 nothing could \
            be scored, or a fatal error (no model, no calibration block, weights not matching the card); \
            64 wrong arguments.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, csv }

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "json: JSON lines, one object per input; csv: header + one row per input.")
    var format: Format = .json

    @Option(help: "Write <name>_mse.png, <name>_ssim.png and <name>_panel.png for every scored patch into this folder.")
    var maps: String?

    @Option(help: "Score method: \(ScoreMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: String = ScoreMethod.default.rawValue

    @Option(help: "Anomalous when score ≥ this, in [0, 1] (default: the method's default, 0.99).")
    var threshold: Double?

    @OptionGroup var patchOptions: PatchOptions

    @OptionGroup var engineOptions: EngineOptions

    @Argument(help: "Patch files or folders (a folder contributes its .png/.jpg/.jpeg files, sorted by name).")
    var inputs: [String]

    func validate() throws {
        guard ScoreMethod(rawValue: method) != nil else {
            throw ValidationError("--method must be one of \(ScoreMethod.allCases.map(\.rawValue).joined(separator: ", ")), got \(method)")
        }
        if let threshold, !(0...1).contains(threshold) { throw ValidationError("--threshold must be in [0, 1], got \(threshold)") }
    }

    func run() throws {
        let bundle = try modelOptions.load()
        guard let card = bundle.card else { throw CLIError(ScoringError.missingCard(weights: bundle.weightsURL.path).description) }
        let scorer: PatchScorer
        do { scorer = try PatchScorer(card: card, method: ScoreMethod(rawValue: method)!, threshold: threshold.map(ThresholdChoice.threshold) ?? .default) } catch {
            throw CLIError(error.description)
        }
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
                             output: RecordWriter(format: format))
        run.output.header()
        let files = InputFile.expand(inputs)
        let names = InputFile.uniqued(files.map(\.stem))
        for (file, name) in zip(files, names) { run.add(file, name: name) }
        run.flush()
        let scored = run.scored, failed = run.failed
        FileHandle.standardError.write(Data("scored \(scored) of \(scored + failed) input\(scored + failed == 1 ? "" : "s"), \(run.anomalous) anomalous (\(scorer.method.rawValue), threshold \(scorer.threshold))\n".utf8))
        if scored == 0 { throw CLIError("nothing could be scored") }
        if failed > 0 { throw ExitCode(2) }
    }

}

/// Decodes inputs in order and hands them to the engine `batch` at a time, writing each record as its request
/// completes.
struct ScoringRun {
    let scorer: PatchScorer
    let engine: InferenceEngine
    let batch: Int
    let limits: DecodeLimits
    let mapsFolder: URL?
    var output: RecordWriter
    private(set) var scored = 0, failed = 0, anomalous = 0

    private struct Pending { var path: String; var name: String; var image: RGBImage?; var error: String? }
    private var pending: [Pending] = []
    private var decoded = 0

    init(scorer: PatchScorer, engine: InferenceEngine, batch: Int, limits: DecodeLimits, mapsFolder: URL?, output: RecordWriter) {
        self.scorer = scorer; self.engine = engine; self.batch = batch; self.limits = limits
        self.mapsFolder = mapsFolder; self.output = output
    }

    mutating func add(_ file: InputFile, name: String) {
        var item = Pending(path: file.path, name: name)
        if file.missing {
            item.error = "no such file or folder"
        } else {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: file.path))
                item.image = try PatchDecoding.decode([UInt8](data), limits: limits)
            } catch let error as PatchDecodingError { item.error = error.description } catch {
                item.error = "cannot read file: \(error.localizedDescription)"
            }
        }
        pending.append(item)
        if item.image != nil { decoded += 1 }
        if decoded == batch { flush() }
    }

    /// Runs the decoded patches as one request, then writes every pending record in order.
    mutating func flush() {
        let images = pending.compactMap(\.image)
        var outcomes: [PatchOutcome] = []
        var requestError: String?
        if !images.isEmpty {
            switch engine.run(inputs: images.map(PatchInput.image), detail: mapsFolder == nil ? .score : .full) {
            case .success(let outcome): outcomes = outcome.patches
            case .failure(let error): requestError = error.description
            }
        }
        var n = 0
        for item in pending {
            guard let image = item.image else { report(item.path, item.error ?? "not scored"); continue }
            defer { n += 1 }
            guard n < outcomes.count, let result = outcomes[n].score else { report(item.path, requestError ?? "not scored"); continue }
            if let mapsFolder, let problem = writeMaps(item.name, image, outcomes[n], result, mapsFolder) {
                report(item.path, problem)
                continue
            }
            output.write(path: item.path, score: result)
            scored += 1
            if result.anomalous { anomalous += 1 }
        }
        pending.removeAll(keepingCapacity: true)
        decoded = 0
    }

    private mutating func report(_ path: String, _ message: String) {
        FileHandle.standardError.write(Data("\(path): \(message)\n".utf8))
        output.write(path: path, error: message)
        failed += 1
    }

    /// `<name>_mse.png`, `<name>_ssim.png`, `<name>_panel.png`; returns a problem, or nil.
    private func writeMaps(_ name: String, _ image: RGBImage, _ outcome: PatchOutcome, _ result: PatchScore,
                           _ folder: URL) -> String? {
        guard let maps = outcome.maps, let reconstruction = outcome.reconstruction else { return "no maps computed" }
        let side = CNNAutoencoder3.inputSize
        let recon = reconstruction.withUnsafeBufferPointer { Normalization.denormalize($0.baseAddress!, width: side, height: side) }
        do {
            let files: [(String, [UInt8])] = [
                ("\(name)_mse.png", try Heatmap.png(.squaredError, maps: maps)),
                ("\(name)_ssim.png", try Heatmap.png(.dissimilarity, maps: maps)),
                ("\(name)_panel.png", try Panel.png(name: name, input: image, reconstruction: recon, maps: maps, score: result)),
            ]
            for (file, png) in files {
                let url = folder.appendingPathComponent(file)
                do { try Data(png).write(to: url, options: .atomic) } catch {
                    return "\(url.path): cannot write: \(error.localizedDescription)"
                }
            }
        } catch { return "cannot encode maps: \(error)" }
        return nil
    }
}

/// JSON lines or CSV on stdout.
struct RecordWriter {
    let format: ScoreCommand.Format
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    static let csvColumns = ["path", "error"] + Statistic.allCases.map(\.rawValue)
        + ["method", "score", "threshold", "threshold_source", "anomalous", "percentile", "score_statistic",
           "deviation", "flags", "model_name", "model_version", "model_sha256"]

    init(format: ScoreCommand.Format) { self.format = format }

    func header() {
        if format == .csv { print(Self.csvColumns.joined(separator: ",")) }
    }

    /// `{"path": …, <the score's keys, sorted>}`.
    func write(path: String, score: PatchScore) {
        switch format {
        case .json:
            guard let body = try? encoder.encode(score), body.count > 2 else { return write(path: path, error: "cannot encode the result") }
            print("{\"path\":\(jsonString(path)),\(String(decoding: body.dropFirst(), as: UTF8.self))")
        case .csv:
            let s = score.statistics
            let fields = [path, ""] + Statistic.allCases.map { "\(s[$0])" }
                + [score.method.rawValue, "\(score.score)", "\(score.threshold)", score.thresholdSource.rawValue, "\(score.anomalous)",
                   "\(score.percentile)", score.scoreStatistic.rawValue, "\(score.deviation)",
                   score.flags.map(\.rawValue).joined(separator: ";"), score.model.name, score.model.version,
                   score.model.weightsSHA256]
            print(fields.map(csvField).joined(separator: ","))
        }
    }

    func write(path: String, error: String) {
        switch format {
        case .json: print("{\"path\":\(jsonString(path)),\"error\":\(jsonString(error))}")
        case .csv: print(([path, error] + Array(repeating: "", count: Self.csvColumns.count - 2)).map(csvField).joined(separator: ","))
        }
    }

    private func jsonString(_ s: String) -> String {
        (try? encoder.encode([s])).map { String(decoding: $0.dropFirst().dropLast(), as: UTF8.self) } ?? "\"\""
    }

    private func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
