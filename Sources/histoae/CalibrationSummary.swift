import Foundation
import Scoring

/// What `histoae calibrate` prints once the block is built: the stain plane, the false-positive rate to expect
/// at the default threshold — nominal, and as measured on the calibration patches themselves — and each
/// signal's range (1st … 99th percentile of its deviation) over those patches, so a site can see what its
/// normal tissue looks like to the scorer.
///
/// ```swift
/// let summary = try CalibrationSummary(calibration: block, statistics: perPatch, model: identity)
/// print(summary.lines.joined(separator: "\n"))
/// ```
struct CalibrationSummary {
    let calibration: Calibration
    /// Calibration patches whose verdict at the default threshold is not `normal`, by verdict.
    let anomalous: Int
    let notTissue: Int
    /// Per signal, in signal order: the 1st and 99th percentiles of its deviation.
    let ranges: [(signal: ArtefactSignal, p1: Double, p99: Double)]
    let threshold: Threshold

    init(calibration: Calibration, statistics: [PatchStatistics], model: ModelIdentity) throws(ScoringError) {
        let scorer = try PatchScorer(model: model, calibration: calibration)
        self.calibration = calibration
        threshold = scorer.limit
        var anomalous = 0, notTissue = 0
        var deviations: [ArtefactSignal: [Double]] = [:]
        for s in statistics {
            let result = try scorer.score(s)
            switch result.verdict {
            case .anomalous: anomalous += 1
            case .notTissue: notTissue += 1
            case .normal: break
            }
            for signal in ArtefactSignal.allCases { deviations[signal, default: []].append(result.signals[signal].deviation) }
        }
        self.anomalous = anomalous
        self.notTissue = notTissue
        ranges = ArtefactSignal.allCases.map { signal in
            let q = NumpyReductions.quantiles(deviations[signal] ?? [0], at: [0.01, 0.99])
            return (signal, q[0], q[1])
        }
    }

    var lines: [String] {
        let n = calibration.patches
        let normal = calibration.stainPlane.normal.map { Self.fixed($0, 4) }.joined(separator: ", ")
        let over = anomalous + notTissue
        var out = [
            "stain plane: normal [\(normal)] fitted on \(calibration.stainPlane.pixels) stained pixels (optical density sum > \(calibration.stainPlane.minOD))",
            "expected false-positive rate at the default threshold \(threshold.value) (method \(ScoreMethod.default.rawValue)): "
                + "\(Self.percent(threshold.fpr)) by the calibration; on the calibration patches themselves \(over) of \(n) "
                + "(\(Self.percent(Double(over) / Double(max(n, 1))))) are not normal (\(anomalous) anomalous, \(notTissue) not tissue)",
            "signal deviations over the calibration patches (p1 … p99):",
        ]
        for range in ranges {
            let name = range.signal.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            out.append("  \(name) \(Self.fixed(range.p1, 2)) … \(Self.fixed(range.p99, 2))")
        }
        return out
    }

    static func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    static func percent(_ fraction: Double) -> String { String(format: "%.2f %%", 100 * fraction) }
}
