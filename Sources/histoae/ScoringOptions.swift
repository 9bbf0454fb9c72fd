import ArgumentParser
import AutoencoderModel
import Scoring

/// `--method`, `--threshold` and `--fpr`: how a command turns statistics into a verdict, validated in one place for
/// every command that scores (`score`, `scan`).
///
/// ```swift
/// @OptionGroup var scoringOptions: ScoringOptions
/// let scorer = try scoringOptions.scorer(card: card)      // PatchScorer at the chosen method and threshold
/// ```
struct ScoringOptions: ParsableArguments {
    @Option(help: "Score method: \(ScoreMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: String = ScoreMethod.default.rawValue

    @Option(help: "Anomalous when score ≥ this, in [0, 1] (default \(ScoreMethod.defaultThreshold), i.e. a false-positive rate of \(String(format: "%g", 1 - ScoreMethod.defaultThreshold))).")
    var threshold: Double?

    @Option(help: "The false-positive rate to accept, in [0, 1]: the same as --threshold 1−F (not with --threshold).")
    var fpr: Double?

    func validate() throws {
        guard ScoreMethod(rawValue: method) != nil else {
            throw ValidationError("--method must be one of \(ScoreMethod.allCases.map(\.rawValue).joined(separator: ", ")), got \(method)")
        }
        if threshold != nil && fpr != nil { throw ValidationError("--threshold and --fpr say the same thing; give one of them") }
        do { _ = try Threshold(thresholdChoice) } catch { throw ValidationError("--\(fpr != nil ? "fpr" : "threshold"): \(error.description)") }
    }

    /// The threshold the flags ask for (validated by ``Threshold``).
    var thresholdChoice: ThresholdChoice {
        if let fpr { return .fpr(fpr) }
        if let threshold { return .threshold(threshold) }
        return .default
    }

    /// The scorer of `card` at the chosen method and threshold. - Throws: ``CLIError`` with the scoring layer's line.
    func scorer(card: ModelCard) throws -> PatchScorer {
        do { return try PatchScorer(card: card, method: ScoreMethod(rawValue: method)!, threshold: thresholdChoice) } catch {
            throw CLIError(error.description)
        }
    }
}
