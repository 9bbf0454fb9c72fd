import Foundation

/// The `calibration` block of a model card (`model.json`, scoring v2), written by
/// `histoae_training.stats.calibration_block` or ``CalibrationBuilder`` from normal patches:
///
/// * `statistics`: for each of the eight statistics, its quantiles at ``quantileLevels``, mean, population std
///   and — where every value allowed it — the mean and std of `log(x)` (`log(1 − x)` for `ssim`);
/// * `stain_plane`: the site's H&E ``StainPlane`` (what `stain_p99` measures against);
/// * `methods`: for each ``ScoreMethod``, the distribution of its raw deviation (``MethodCalibration``),
///   which turns a deviation into a false-positive rate.
///
/// Blocks from before scoring v2 (no `stain_plane`) are refused: ``ScoringError/outdatedCalibration``.
///
/// ```swift
/// let calibration = try Calibration(card: bundle.card!)     // AutoencoderModel.ModelBundle
/// calibration.percentile(of: 0.12, for: .dssimP99)   // fraction of normal patches below 0.12
/// calibration.deviation(of: 0.81, for: .ssim)        // z of log(1 − 0.81); > 0: more error than normal
/// calibration[.signals].exceedance(of: 3.1, levels: calibration.quantileLevels)
/// ```
public struct Calibration: Codable, Sendable, Equatable {
    /// Where the normal patches came from.
    public var source: String
    /// How many normal patches.
    public var patches: Int
    /// Ascending levels in `[0, 1]` (stats.py: 0, 0.001, 0.005, 0.01 … 0.99, 0.995, 0.999, 1).
    public var quantileLevels: [Double]
    /// Keyed by ``Statistic`` raw value.
    public var statistics: [String: StatisticCalibration]
    /// The H&E plane `stain_p99` is measured against.
    public var stainPlane: StainPlane
    /// Keyed by ``ScoreMethod`` raw value.
    public var methods: [String: MethodCalibration]

    /// Fewer calibration patches cannot fit the methods' tails (≥ 5 patches beyond the 0.9 quantile).
    public static let minimumPatches = 50

    /// The levels of every block this code writes (stats.py `QUANTILE_LEVELS`): 0, 0.001, 0.005, 0.01 … 0.99
    /// (every 0.01), 0.995, 0.999, 1.
    public static let standardQuantileLevels: [Double] =
        [0, 0.001, 0.005] + (1...99).map { Double($0) / 100 } + [0.995, 0.999, 1]

    public init(source: String, patches: Int, quantileLevels: [Double], statistics: [String: StatisticCalibration],
                stainPlane: StainPlane, methods: [String: MethodCalibration]) {
        self.source = source; self.patches = patches; self.quantileLevels = quantileLevels; self.statistics = statistics
        self.stainPlane = stainPlane; self.methods = methods
    }

    /// Checks what scoring relies on: every statistic and method present, one quantile per level, levels
    /// ascending in `[0, 1]`, quantiles non-decreasing, everything finite, std ≥ 0, a unit stain normal, sane
    /// tails.
    public func validate() throws(ScoringError) {
        // Results report it as "calibrated on N patches": a block claiming none is malformed.
        guard patches >= 1 else { throw .invalidCalibration("patches must be at least 1, got \(patches)") }
        guard !quantileLevels.isEmpty, quantileLevels.allSatisfy({ $0.isFinite && (0...1).contains($0) }),
              zip(quantileLevels, quantileLevels.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw .invalidCalibration("quantile_levels must be ascending values in [0, 1]")
        }
        for statistic in Statistic.allCases {
            guard let s = statistics[statistic.rawValue] else {
                throw .invalidCalibration("statistic \(statistic.rawValue) is missing")
            }
            let name = statistic.rawValue
            guard s.quantiles.count == quantileLevels.count else {
                throw .invalidCalibration("\(name) has \(s.quantiles.count) quantiles for \(quantileLevels.count) levels")
            }
            guard s.quantiles.allSatisfy(\.isFinite), zip(s.quantiles, s.quantiles.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw .invalidCalibration("\(name) quantiles must be finite and non-decreasing")
            }
            guard s.mean.isFinite, s.std.isFinite, s.std >= 0 else {
                throw .invalidCalibration("\(name) mean/std must be finite, std ≥ 0")
            }
            if let m = s.logMean, let d = s.logStd, !(m.isFinite && d.isFinite && d >= 0) {
                throw .invalidCalibration("\(name) log_mean/log_std must be finite, log_std ≥ 0")
            }
        }
        try stainPlane.validate()
        let missing = ScoreMethod.allCases.map(\.rawValue).filter { methods[$0] == nil }
        guard missing.isEmpty else {
            throw .invalidCalibration("calibration block lacks the method table(s) \(missing.joined(separator: ", ")): "
                + "recalibrate with histoae calibrate")
        }
        for method in ScoreMethod.allCases { try self[method].validate(method.rawValue, levels: quantileLevels) }
    }

    /// The summary of one statistic. - Precondition: ``validate()`` passed.
    public subscript(statistic: Statistic) -> StatisticCalibration {
        guard let s = statistics[statistic.rawValue] else { preconditionFailure("calibration lacks \(statistic.rawValue)") }
        return s
    }

    /// The deviation distribution of one method. - Precondition: ``validate()`` passed.
    public subscript(method: ScoreMethod) -> MethodCalibration {
        guard let m = methods[method.rawValue] else { preconditionFailure("calibration lacks method \(method.rawValue)") }
        return m
    }

    /// Fraction of normal patches below `value`, by linear interpolation in the quantile table:
    /// below the first quantile → the first level (0); above the last → the last level (1); strictly
    /// between two tabulated quantiles → linear in value between their levels (= `np.interp`); equal to a
    /// run of equal quantiles (a plateau, e.g. many patches at tissue fraction 1) → the middle of the
    /// run's levels.
    public func percentile(of value: Double, for statistic: Statistic) -> Double {
        Self.interpolate(value, quantiles: self[statistic].quantiles, levels: quantileLevels)
    }

    /// The value below which a `level` fraction of normal patches lie (the table read the other way).
    public func quantile(at level: Double, for statistic: Statistic) -> Double {
        Self.read(level: level, quantiles: self[statistic].quantiles, levels: quantileLevels)
    }

    /// The quantile table read at `level`: the first/last quantile outside the levels, linear between them.
    static func read(level: Double, quantiles q: [Double], levels p: [Double]) -> Double {
        if level <= p[0] { return q[0] }
        if level >= p[p.count - 1] { return q[q.count - 1] }
        let hi = p.firstIndex { $0 >= level }!
        if p[hi] == level { return q[hi] }
        let t = (level - p[hi - 1]) / (p[hi] - p[hi - 1])
        return q[hi - 1] + t * (q[hi] - q[hi - 1])
    }

    /// Signed deviation of `value` from the normal distribution of `statistic`, oriented so that positive
    /// means *more error* (for `ssim`, the argument is `1 − ssim`): `z = (log(a) − log_mean)/log_std` when the
    /// card has the log fit (`a` clamped to ≥ 1e-12, so an exact 0 is a large finite deviation), else
    /// `z = (a − mean_a)/std` on the linear scale. A zero std is replaced by 1e-12.
    public func deviation(of value: Double, for statistic: Statistic) -> Double {
        self[statistic].deviation(of: value, similarity: statistic.isSimilarity)
    }

    /// The inverse of ``deviation(of:for:)``: the statistic's value at signed deviation `z`.
    public func value(atDeviation z: Double, for statistic: Statistic) -> Double {
        self[statistic].value(atDeviation: z, similarity: statistic.isSimilarity)
    }

    static func interpolate(_ value: Double, quantiles q: [Double], levels p: [Double]) -> Double {
        let n = q.count
        if value.isNaN { return .nan }
        if value < q[0] { return p[0] }
        if value > q[n - 1] { return p[n - 1] }
        // First index with q ≥ value, and first with q > value (binary searches on the sorted table).
        let first = partition(q) { $0 >= value }, after = partition(q) { $0 > value }
        if first < after { return (p[first] + p[after - 1]) / 2 }     // value equals q[first ..< after]
        let lo = first - 1, hi = first
        let span = q[hi] - q[lo]
        // A hostile card's table may span more than Double's range (−max … max): the span and the offset
        // then overflow to ∞/∞ = NaN, so take the ratio of halves, which cannot overflow, instead.
        let level = span.isFinite
            ? p[lo] + (p[hi] - p[lo]) * (value - q[lo]) / span
            : p[lo] + (p[hi] - p[lo]) * (value / 2 - q[lo] / 2) / (q[hi] / 2 - q[lo] / 2)
        return min(max(level, p[lo]), p[hi])    // rounding must not step outside the bracket's levels
    }

    private static func partition(_ q: [Double], _ predicate: (Double) -> Bool) -> Int {
        var lo = 0, hi = q.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if predicate(q[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

/// One statistic's summary over the normal patches (a value of ``Calibration/statistics``).
public struct StatisticCalibration: Codable, Sendable, Equatable {
    public var quantiles: [Double]
    public var mean: Double
    public var std: Double
    /// `"log(x)"` or `"log(1 - x)"` when the log fit exists.
    public var logTransform: String?
    public var logMean: Double?
    public var logStd: Double?

    enum CodingKeys: String, CodingKey {
        case quantiles, mean, std
        case logTransform = "log_transform"
        case logMean = "log_mean"
        case logStd = "log_std"
    }

    public init(quantiles: [Double], mean: Double, std: Double, logTransform: String? = nil,
                logMean: Double? = nil, logStd: Double? = nil) {
        self.quantiles = quantiles; self.mean = mean; self.std = std
        self.logTransform = logTransform; self.logMean = logMean; self.logStd = logStd
    }

    static let floor = 1e-12

    func deviation(of value: Double, similarity: Bool) -> Double {
        let argument = similarity ? 1 - value : value
        if let m = logMean, let s = logStd {
            return (log(max(argument, Self.floor)) - m) / max(s, Self.floor)
        }
        let centre = similarity ? 1 - mean : mean
        return (argument - centre) / max(std, Self.floor)
    }

    func value(atDeviation z: Double, similarity: Bool) -> Double {
        let argument: Double
        if let m = logMean, let s = logStd {
            argument = exp(m + z * max(s, Self.floor))
        } else {
            argument = (similarity ? 1 - mean : mean) + z * max(std, Self.floor)
        }
        return similarity ? 1 - argument : argument
    }
}
