/// How the caller sets the threshold: not at all, as a score, or as a false-positive rate. The score of a
/// patch is `1 − exceedance`, so a threshold `t` and a false-positive rate `1 − t` say the same thing.
///
/// ```swift
/// let scorer = try PatchScorer(card: card, threshold: .fpr(0.001))      // flag 1 normal patch in 1000
/// let strict = try scorer.rethresholded(result, threshold: .threshold(0.999))
/// ```
public enum ThresholdChoice: Sendable, Equatable {
    /// ``ScoreMethod/defaultThreshold`` (0.99, FPR 0.01).
    case `default`
    /// A score threshold in `[0, 1]`.
    case threshold(Double)
    /// A false-positive rate in `[0, 1]`: threshold `1 − fpr`.
    case fpr(Double)
}

/// Where a result's threshold came from: JSON `"default (fpr 0.01)"`, `"user threshold"`, `"user fpr"`.
public enum ThresholdSource: String, Codable, Sendable, CaseIterable {
    case `default` = "default (fpr 0.01)"
    case userThreshold = "user threshold"
    case userFPR = "user fpr"
}

/// A resolved ``ThresholdChoice``: the score threshold, its nominal false-positive rate and the source.
///
/// ```swift
/// let t = try Threshold(.fpr(0.05))      // value 0.95, fpr 0.05, source .userFPR
/// ```
public struct Threshold: Sendable, Equatable {
    /// Anomalous when `score ≥ value`.
    public let value: Double
    /// `1 − value`: the fraction of normal patches expected over the threshold (computed from the threshold,
    /// like stats.py, so a result's `fpr` is always `1 − threshold`).
    public let fpr: Double
    public let source: ThresholdSource

    /// - Throws: ``ScoringError/invalidThreshold(_:)`` for a value outside `[0, 1]` or not finite.
    public init(_ choice: ThresholdChoice) throws(ScoringError) {
        switch choice {
        case .default:
            value = ScoreMethod.defaultThreshold; source = .default
        case .threshold(let t):
            guard t.isFinite, (0...1).contains(t) else { throw .invalidThreshold("the threshold must be in [0, 1], got \(t)") }
            value = t; source = .userThreshold
        case .fpr(let f):
            guard f.isFinite, (0...1).contains(f) else {
                throw .invalidThreshold("the false-positive rate must be in [0, 1], got \(f)")
            }
            value = 1 - f; source = .userFPR
        }
        fpr = 1 - value
    }
}
