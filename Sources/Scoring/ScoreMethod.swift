import Foundation

/// How a patch's statistics become one raw deviation `D ≥ 0` (larger = less like the normal patches the model
/// was calibrated on), with the statistic that decided it. The calibration's ``MethodCalibration`` of the
/// method then turns `D` into the score, `1 − exceedance(D)`: the fraction of normal patches that deviate less.
///
/// Notation: `z(s)` is the signed deviation of statistic `s` from the normal fit, positive = more than normal
/// (``Calibration/deviation(of:for:)``; for `ssim`, more error); the four signals are ``ArtefactSignal``'s.
///
/// | method | D | deciding statistic |
/// |---|---|---|
/// | `signals` (default) | `max(0, high_error, stain, blur, background)` | the deciding signal's (at 0: `high_error`'s) |
/// | `combined` | `max(0, |z(mse)|, |z(ssim)|, |z(mse_p99)|, |z(dssim_p99)|, −z(tissue_fraction), −z(sharpness))` | the argmax |
/// | `one_sided_dssim` | `max(0, z(dssim_p99))` | `dssim_p99` |
/// | `two_sided_log_ssim` | `|z(ssim)|` | `ssim` |
/// | `two_sided_log_dssim` | `|z(dssim_p99)|` | `dssim_p99` |
///
/// Ties go to the first in the order written.
///
/// ```swift
/// let scorer = try PatchScorer(card: card, method: .combined)   // or ScoreMethod.default
/// ```
public enum ScoreMethod: String, CaseIterable, Codable, Sendable {
    case signals
    case combined
    case oneSidedDSSIM = "one_sided_dssim"
    case twoSidedLogSSIM = "two_sided_log_ssim"
    case twoSidedLogDSSIM = "two_sided_log_dssim"

    /// The method used when none is named: the named artefact signals, each calibrated, so that a pen mark
    /// (stain), a blurred scan (blur) and glass (background) are caught by the signal made for them rather than
    /// by reconstruction error alone (docs/scoring.md).
    public static let `default`: ScoreMethod = .signals

    /// The threshold used when the caller sets none: the score is `1 − FPR`, so 0.99 flags 1% of normal patches.
    public static let defaultThreshold = 0.99

    /// One line: the formula of `D`.
    public var formula: String {
        switch self {
        case .signals: "D = max(0, high_error, stain, blur, background) of the named signals"
        case .combined: "D = max(0, |z| of mse, ssim, mse_p99, dssim_p99, -z of tissue_fraction, sharpness)"
        case .oneSidedDSSIM: "D = max(0, z(dssim_p99))"
        case .twoSidedLogSSIM: "D = |z(ssim)|, z of log(1 - ssim)"
        case .twoSidedLogDSSIM: "D = |z(dssim_p99)|, z of log(dssim_p99)"
        }
    }

    /// The statistics ``combined`` counts in both directions, then those it counts only when low.
    public static let combinedTwoSided: [Statistic] = [.mse, .ssim, .mseP99, .dssimP99]
    public static let combinedLowSided: [Statistic] = [.tissueFraction, .sharpness]

    /// What a method makes of one patch, before calibration turns it into a score.
    public struct Outcome: Sendable, Equatable {
        /// The raw deviation `D ≥ 0`.
        public var rawDeviation: Double
        /// The statistic that decided it.
        public var statistic: Statistic
        /// The deviation the method reports: for `signals` the deciding signal's, otherwise `z(statistic)`.
        public var deviation: Double
    }

    /// `D` of a patch from its per-statistic deviations `z` and its signals (``SignalReadings/measure(_:deviations:)``).
    public func evaluate(deviations z: PatchStatistics, signals: SignalReadings) -> Outcome {
        switch self {
        case .signals:
            // The literal 0 comes first, so a patch with no positive signal is decided by high_error.
            var best = Outcome(rawDeviation: 0, statistic: signals.highError.statistic, deviation: signals.highError.deviation)
            for signal in ArtefactSignal.allCases where signals[signal].deviation > best.rawDeviation {
                let reading = signals[signal]
                best = Outcome(rawDeviation: reading.deviation, statistic: reading.statistic, deviation: reading.deviation)
            }
            return best
        case .combined:
            var best = Outcome(rawDeviation: 0, statistic: Self.combinedTwoSided[0], deviation: z[Self.combinedTwoSided[0]])
            for s in Self.combinedTwoSided where abs(z[s]) > best.rawDeviation {
                best = Outcome(rawDeviation: abs(z[s]), statistic: s, deviation: z[s])
            }
            for s in Self.combinedLowSided where -z[s] > best.rawDeviation {
                best = Outcome(rawDeviation: -z[s], statistic: s, deviation: z[s])
            }
            return best
        case .oneSidedDSSIM:
            return Outcome(rawDeviation: max(0, z.dssimP99), statistic: .dssimP99, deviation: z.dssimP99)
        case .twoSidedLogSSIM:
            return Outcome(rawDeviation: abs(z.ssim), statistic: .ssim, deviation: z.ssim)
        case .twoSidedLogDSSIM:
            return Outcome(rawDeviation: abs(z.dssimP99), statistic: .dssimP99, deviation: z.dssimP99)
        }
    }

    /// `D` of a patch from its statistics (the deviations and signals computed here).
    public func evaluate(_ statistics: PatchStatistics, calibration: Calibration) -> Outcome {
        let z = calibration.deviations(of: statistics)
        return evaluate(deviations: z, signals: SignalReadings.measure(statistics, deviations: z))
    }
}

extension Calibration {
    /// `z` of every statistic of a patch (``deviation(of:for:)``).
    public func deviations(of statistics: PatchStatistics) -> PatchStatistics {
        PatchStatistics { deviation(of: statistics[$0], for: $0) }
    }
}
