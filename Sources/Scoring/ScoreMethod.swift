import Foundation

/// How a patch's statistics become one calibrated anomaly score in `[0, 1]` (higher = less like the normal
/// patches the model was calibrated on). Every method compares with the card's ``Calibration``.
///
/// Notation: `P(v)` is the fraction of normal patches below `v` (``Calibration/percentile(of:for:)``);
/// `z(s)` is the signed deviation of statistic `s` from the normal log-normal fit, positive = more error
/// (``Calibration/deviation(of:for:)``: `(log(a) − log_mean)/log_std`, `a = 1 − ssim` for `ssim`);
/// `T(z) = erf(|z|/√2)` is the probability that a normal patch deviates *less* in either direction (under
/// the fit), so `T ≥ 0.99` ⇔ `|z| ≥ 2.576`.
///
/// Blank glass and blurred tissue reconstruct *better* than tissue (docs/evaluation.md), so
/// only the two-sided methods and `combined` can flag them (`low_error`); ``oneSidedDSSIM`` cannot.
///
/// | method | score | default threshold |
/// |---|---|---|
/// | `one_sided_dssim` | `P(dssim_p99)` | 0.99 (the normal 99th percentile) |
/// | `two_sided_log_ssim` | `T(z(ssim))` | 0.99 (`|z| ≥ 2.576`) |
/// | `two_sided_log_dssim` | `T(z(dssim_p99))` | 0.99 |
/// | `combined` | `T(d*)^6`, `d* = max(|z(mse)|, |z(ssim)|, |z(mse_p99)|, |z(dssim_p99)|, −z(tissue_fraction), −z(sharpness), 0)` | 0.99 (Šidák: each of 6 signals at `|z| ≥ 3.14`) |
///
/// ```swift
/// let scorer = try PatchScorer(card: card, method: .combined)   // or ScoreMethod.default
/// ```
public enum ScoreMethod: String, CaseIterable, Codable, Sendable {
    case oneSidedDSSIM = "one_sided_dssim"
    case twoSidedLogSSIM = "two_sided_log_ssim"
    case twoSidedLogDSSIM = "two_sided_log_dssim"
    case combined

    /// The method used when none is named, chosen by evidence: on the default model it has the best worst-case
    /// AUROC over every artefact kind, where one-sided error scores call blank glass and blur normal and
    /// two-sided log(1−SSIM) misses marking ink (the figures: docs/evaluation.md, written by
    /// training/scripts/evaluate_scores.py).
    public static let `default`: ScoreMethod = .combined

    /// The threshold used when the caller sets none, the same for every method: each method's score is a
    /// calibrated probability-like value in [0, 1], so 0.99 means "past the 99th percentile of normal tissue".
    public static let defaultThreshold = 0.99

    /// One line: the formula.
    public var formula: String {
        switch self {
        case .oneSidedDSSIM: "P(dssim_p99): percentile of dssim_p99 among normal patches"
        case .twoSidedLogSSIM: "erf(|z|/sqrt 2), z = (log(1 - ssim) - log_mean)/log_std"
        case .twoSidedLogDSSIM: "erf(|z|/sqrt 2), z = (log(dssim_p99) - log_mean)/log_std"
        case .combined: "erf(d/sqrt 2)^6, d = max |z| of mse, ssim, mse_p99, dssim_p99 and -z of tissue_fraction, sharpness"
        }
    }

    /// The signals ``combined`` takes the maximum over: two-sided error statistics, one-sided (low) quality.
    public static let combinedTwoSided: [Statistic] = [.mse, .ssim, .mseP99, .dssimP99]
    public static let combinedLowSided: [Statistic] = [.tissueFraction, .sharpness]

    /// What a method makes of one patch.
    public struct Outcome: Sendable, Equatable {
        /// In `[0, 1]`.
        public var score: Double
        /// +1: the deciding statistic shows more error than normal; −1: less; 0: a quality signal decided.
        public var direction: Int
        /// The statistic that decided the score.
        public var statistic: Statistic
        /// Its signed deviation `z`.
        public var deviation: Double
        /// The empirical counterpart of `score` from the quantile table: the fraction of normal patches
        /// *less extreme* than this one on `statistic` (see ``evaluate(_:calibration:)``).
        public var percentile: Double
    }

    /// `T(z) = erf(|z|/√2)`.
    public static func twoSided(_ z: Double) -> Double { erf(abs(z) / 2.0.squareRoot()) }

    /// Scores `statistics`.
    ///
    /// `percentile`: one-sided `P(v)`; two-sided `|P(v(+|z|)) − P(v(−|z|))|` (normal patches between the two
    /// values at the same deviation on either side); `combined` the deciding signal's two-sided (or, for a
    /// quality signal, `1 − P(v)`) fraction, raised to the 6th power like the score.
    public func evaluate(_ statistics: PatchStatistics, calibration: Calibration) -> Outcome {
        switch self {
        case .oneSidedDSSIM:
            let v = statistics.dssimP99
            let p = calibration.percentile(of: v, for: .dssimP99)
            return Outcome(score: p, direction: 1, statistic: .dssimP99,
                           deviation: calibration.deviation(of: v, for: .dssimP99), percentile: p)
        case .twoSidedLogSSIM: return Self.twoSidedOutcome(.ssim, statistics, calibration)
        case .twoSidedLogDSSIM: return Self.twoSidedOutcome(.dssimP99, statistics, calibration)
        case .combined:
            var best = (d: 0.0, statistic: Statistic.ssim, z: calibration.deviation(of: statistics.ssim, for: .ssim))
            best.d = abs(best.z)
            for s in Self.combinedTwoSided {
                let z = calibration.deviation(of: statistics[s], for: s)
                if abs(z) > best.d { best = (abs(z), s, z) }
            }
            for s in Self.combinedLowSided {
                let z = calibration.deviation(of: statistics[s], for: s)
                if -z > best.d { best = (-z, s, z) }
            }
            let k = Double(Self.combinedTwoSided.count + Self.combinedLowSided.count)
            let quality = Self.combinedLowSided.contains(best.statistic)
            let fraction = quality
                ? 1 - calibration.percentile(of: statistics[best.statistic], for: best.statistic)
                : Self.twoSidedFraction(best.statistic, best.z, calibration)
            return Outcome(score: pow(Self.twoSided(best.d), k),
                           direction: quality ? 0 : (best.z > 0 ? 1 : best.z < 0 ? -1 : 0),
                           statistic: best.statistic, deviation: best.z, percentile: pow(fraction, k))
        }
    }

    private static func twoSidedOutcome(_ s: Statistic, _ statistics: PatchStatistics,
                                        _ calibration: Calibration) -> Outcome {
        let z = calibration.deviation(of: statistics[s], for: s)
        return Outcome(score: twoSided(z), direction: z > 0 ? 1 : z < 0 ? -1 : 0, statistic: s, deviation: z,
                       percentile: twoSidedFraction(s, z, calibration))
    }

    private static func twoSidedFraction(_ s: Statistic, _ z: Double, _ calibration: Calibration) -> Double {
        let upper = calibration.value(atDeviation: abs(z), for: s)
        let lower = calibration.value(atDeviation: -abs(z), for: s)
        return abs(calibration.percentile(of: upper, for: s) - calibration.percentile(of: lower, for: s))
    }
}
