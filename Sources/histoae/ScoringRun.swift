import AutoencoderModel
import Foundation
import ImageCodecs
import InferenceService
import Scoring

/// Decodes inputs in order and hands them to the engine `batch` at a time, writing each record as its request
/// completes.
///
/// ```swift
/// var run = ScoringRun(scorer: scorer, engine: engine, batch: 8, limits: DecodeLimits(), mapsFolder: nil,
///                      output: RecordWriter(format: .json, precision: engine.precision))
/// for file in InputFile.expand(paths) { run.add(file, name: file.stem) }
/// run.flush()
/// run.verdicts[.anomalous]
/// ```
struct ScoringRun {
    let scorer: PatchScorer
    let engine: InferenceEngine
    let batch: Int
    let limits: DecodeLimits
    let mapsFolder: URL?
    var output: RecordWriter
    private(set) var scored = 0, failed = 0
    /// Scored patches by verdict.
    private(set) var verdicts: [Verdict: Int] = [:]

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
            verdicts[result.verdict, default: 0] += 1
        }
        pending.removeAll(keepingCapacity: true)
        decoded = 0
    }

    private mutating func report(_ path: String, _ message: String) {
        FileHandle.standardError.write(Data("\(path): \(message)\n".utf8))
        output.write(path: path, error: message)
        failed += 1
    }

    /// `<name>_mse.png`, `<name>_ssim.png`, `<name>_stain.png`, `<name>_panel.png`; returns a problem, or nil.
    private func writeMaps(_ name: String, _ image: RGBImage, _ outcome: PatchOutcome, _ result: PatchScore,
                           _ folder: URL) -> String? {
        guard let maps = outcome.maps, let reconstruction = outcome.reconstruction else { return "no maps computed" }
        let side = CNNAutoencoder3.inputSize
        let recon = reconstruction.withUnsafeBufferPointer { Normalization.denormalize($0.baseAddress!, width: side, height: side) }
        do {
            let files: [(String, [UInt8])] = [
                ("\(name)_mse.png", try Heatmap.png(.squaredError, maps: maps)),
                ("\(name)_ssim.png", try Heatmap.png(.dissimilarity, maps: maps)),
                ("\(name)_stain.png", try Heatmap.png(.stain, maps: maps)),
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
