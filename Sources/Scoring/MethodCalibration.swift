import Foundation

/// How one ``ScoreMethod``'s raw deviation `D` is distributed over the calibration patches — a value of
/// ``Calibration/methods`` — and what turns a patch's `D` into a false-positive rate (the score).
///
/// * `quantiles`: numpy `'linear'` quantiles of the patches' `D` at the block's `quantile_levels`.
/// * `tail`: an exponential tail (a generalized Pareto distribution with shape 0, "peaks over threshold")
///   past `start` = the quantile at `level` 0.9, with `scale` β = the mean excess of the patches beyond it.
///
/// `exceedance(D)`, the estimated fraction of normal patches with a deviation ≥ D: `1 − P(D)` from the table
/// up to the tail start, then `(1 − level)·exp(−(D − start)/β)` — continuous at the start, and still
/// informative beyond the largest calibration patch, where a table alone would say 0.
///
/// ```swift
/// let signals = calibration[.signals]
/// signals.exceedance(of: 4.2, levels: calibration.quantileLevels)         // e.g. 0.003
/// signals.deviation(atThreshold: 0.99, levels: calibration.quantileLevels) // D at FPR 0.01
/// ```
public struct MethodCalibration: Codable, Sendable, Equatable {
    public var quantiles: [Double]
    public var tail: TailFit

    /// The quantile level where the tail starts (stats.py `TAIL_LEVEL`).
    public static let tailLevel = 0.9
    /// The smallest tail scale (all exceedances equal, or none): keeps `exp(−(D − t)/β)` defined.
    public static let minimumScale = 1e-6

    public init(quantiles: [Double], tail: TailFit) {
        self.quantiles = quantiles; self.tail = tail
    }

    /// The fit of a method's deviations `d` (one per calibration patch, in patch order) at `levels`, which must
    /// contain ``tailLevel``.
    public static func fit(_ d: [Double], levels: [Double]) -> MethodCalibration {
        guard let index = levels.firstIndex(of: tailLevel) else {
            preconditionFailure("the quantile levels must contain the tail level \(tailLevel)")
        }
        let quantiles = NumpyReductions.quantiles(d, at: levels)
        let start = quantiles[index]
        let excesses = d.filter { $0 > start }.map { $0 - start }
        let scale = excesses.isEmpty ? minimumScale : max(NumpyReductions.mean(excesses), minimumScale)
        return MethodCalibration(quantiles: quantiles,
                                 tail: TailFit(level: tailLevel, start: start, scale: scale, exceedances: excesses.count))
    }

    /// `P(D)`: the fraction of calibration patches below `d` by the table alone (``Calibration``'s
    /// interpolation rule, plateaus included).
    public func percentile(of d: Double, levels: [Double]) -> Double {
        Calibration.interpolate(d, quantiles: quantiles, levels: levels)
    }

    /// The estimated fraction of normal patches with a deviation ≥ `d`, in `(0, 1]`.
    public func exceedance(of d: Double, levels: [Double]) -> Double {
        if d <= tail.start { return 1 - percentile(of: d, levels: levels) }
        return (1 - tail.level) * exp(-(d - tail.start) / tail.scale)
    }

    /// The deviation `D*` whose score is `threshold`: past the tail level `start + β·ln((1 − level)/(1 − threshold))`
    /// (+∞ at threshold 1); below it the table read the other way.
    public func deviation(atThreshold threshold: Double, levels: [Double]) -> Double {
        if threshold >= tail.level {
            if threshold >= 1 { return .infinity }
            return tail.start + tail.scale * log((1 - tail.level) / (1 - threshold))
        }
        return Calibration.read(level: threshold, quantiles: quantiles, levels: levels)
    }

    /// Checks what scoring relies on; `name` is the method, for the message.
    func validate(_ name: String, levels: [Double]) throws(ScoringError) {
        guard quantiles.count == levels.count else {
            throw .invalidCalibration("methods.\(name) has \(quantiles.count) quantiles for \(levels.count) levels")
        }
        guard quantiles.allSatisfy({ $0.isFinite }), zip(quantiles, quantiles.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw .invalidCalibration("methods.\(name) quantiles must be finite and non-decreasing")
        }
        guard tail.level > 0, tail.level < 1, tail.start.isFinite, tail.scale.isFinite, tail.scale > 0,
              tail.exceedances >= 0 else {
            throw .invalidCalibration("methods.\(name).tail needs 0 < level < 1, a finite start, scale > 0, exceedances ≥ 0")
        }
    }
}

/// The exponential tail of a ``MethodCalibration``: JSON `{"level": 0.9, "start": t, "scale": β, "exceedances": k}`.
public struct TailFit: Codable, Sendable, Equatable {
    /// The quantile level where the tail starts (0.9).
    public var level: Double
    /// The deviation at that level, `t`.
    public var start: Double
    /// β: the mean of `D − t` over the calibration patches with `D > t`, at least ``MethodCalibration/minimumScale``.
    public var scale: Double
    /// How many calibration patches lie beyond `t`.
    public var exceedances: Int

    public init(level: Double, start: Double, scale: Double, exceedances: Int) {
        self.level = level; self.start = start; self.scale = scale; self.exceedances = exceedances
    }
}
