import AutoencoderModel
import Foundation
import Scoring

/// JSON lines or CSV on stdout. Every scored record names the precision the model ran in (`"precision"`, the
/// last CSV column), beside the model that the score names.
///
/// ```swift
/// let writer = RecordWriter(format: .csv, precision: engine.precision)
/// writer.header()                                   // path,error,mse,…,verdict,…,calibration_source,model_name,…,precision
/// writer.write(path: "a.png", score: result)
/// writer.write(path: "b.png", error: "image is 64×64, expected 150×150")
/// ```
struct RecordWriter {
    let format: ScoreCommand.Format
    /// The engine's ``InferenceService/InferenceEngine/precision``: what every score written was computed in.
    let precision: ModelPrecision
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    typealias Column = (name: String, field: @Sendable (PatchScore) -> String)

    /// The CSV columns after `path` and `error`, each with its field of a score: the statistics, the score and
    /// its threshold, the verdict, each signal's deviation, the calibration and the model.
    static let scoreColumns: [Column] =
        Statistic.allCases.map { statistic in column(statistic.rawValue) { "\($0.statistics[statistic])" } }
        + [column("method") { $0.method.rawValue }, column("score") { "\($0.score)" },
           column("threshold") { "\($0.threshold)" }, column("fpr") { "\($0.fpr)" },
           column("threshold_source") { $0.thresholdSource.rawValue }, column("anomalous") { "\($0.anomalous)" },
           column("verdict") { $0.verdict.rawValue }, column("percentile") { "\($0.percentile)" },
           column("score_statistic") { $0.scoreStatistic.rawValue }, column("deviation") { "\($0.deviation)" },
           column("flags") { $0.flags.map(\.rawValue).joined(separator: ";") }]
        + ArtefactSignal.allCases.map { signal in column("\(signal.rawValue)_deviation") { "\($0.signals[signal].deviation)" } }
        + [column("calibration_source") { $0.calibration.source },
           column("calibration_patches") { "\($0.calibration.patches)" },
           column("model_name") { $0.model.name }, column("model_version") { $0.model.version },
           column("model_sha256") { $0.model.weightsSHA256 }]

    private static func column(_ name: String, _ field: @escaping @Sendable (PatchScore) -> String) -> Column { (name, field) }

    /// After the score's columns: not a field of a score but of the engine that computed them all.
    static let precisionColumn = "precision"

    static var csvColumns: [String] { ["path", "error"] + scoreColumns.map(\.name) + [precisionColumn] }

    init(format: ScoreCommand.Format, precision: ModelPrecision) {
        self.format = format
        self.precision = precision
    }

    func header() {
        if format == .csv { print(Self.csvColumns.joined(separator: ",")) }
    }

    /// `{"path": …, <the score's keys, sorted>, "precision": "fp32"}`.
    func write(path: String, score: PatchScore) {
        switch format {
        case .json:
            guard let body = try? encoder.encode(score), body.count > 2 else { return write(path: path, error: "cannot encode the result") }
            let fields = String(decoding: body.dropFirst().dropLast(), as: UTF8.self)
            print("{\"path\":\(jsonString(path)),\(fields),\"\(Self.precisionColumn)\":\(jsonString(precision.rawValue))}")
        case .csv:
            print(([path, ""] + Self.scoreColumns.map { $0.field(score) } + [precision.rawValue]).map(csvField).joined(separator: ","))
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
