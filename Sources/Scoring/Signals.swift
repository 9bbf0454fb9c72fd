/// The named artefact signals of a patch, each a signed deviation from the normal patches (positive = more
/// unusual), in this order everywhere (JSON, flags, ties):
///
/// | signal | deviation | statistic reported |
/// |---|---|---|
/// | `high_error` | `max(z(mse), z(ssim), z(mse_p99), z(dssim_p99))` (may be < 0) | the argmax (first on ties) |
/// | `stain` | `z(stain_p99)`: optical density off the H&E plane (pen, ink, other dyes) | `stain_p99` |
/// | `blur` | `−z(sharpness)` | `sharpness` |
/// | `background` | `−z(tissue_fraction)` when `tissue_fraction < 0.10` (``Verdict/notTissueMaxFraction``), else 0 | `tissue_fraction` |
///
/// A signal's flag is raised when its deviation reaches the `signals` method's deviation at the threshold
/// (``PatchScorer``); `background`'s when the patch is not tissue.
///
/// ```swift
/// let z = calibration.deviations(of: statistics)
/// let signals = SignalReadings.measure(statistics, deviations: z)
/// signals[.stain].deviation          // z(stain_p99)
/// ```
public enum ArtefactSignal: String, CaseIterable, Codable, Sendable {
    case highError = "high_error"
    case stain
    case blur
    case background

    /// The reconstruction-error statistics `high_error` takes the maximum over, in tie order.
    public static let errorStatistics: [Statistic] = [.mse, .ssim, .mseP99, .dssimP99]
}

/// One signal of one patch: JSON `{"deviation": d, "statistic": "dssim_p99", "flag": false}`.
public struct SignalReading: Codable, Sendable, Equatable {
    public var deviation: Double
    public var statistic: Statistic
    public var flag: Bool

    public init(deviation: Double, statistic: Statistic, flag: Bool = false) {
        self.deviation = deviation; self.statistic = statistic; self.flag = flag
    }
}

/// The four signals of a patch, keyed (in JSON) by ``ArtefactSignal`` raw value, in signal order.
public struct SignalReadings: Codable, Sendable, Equatable {
    public var highError: SignalReading
    public var stain: SignalReading
    public var blur: SignalReading
    public var background: SignalReading

    enum CodingKeys: String, CodingKey {
        case highError = "high_error"
        case stain, blur, background
    }

    public init(highError: SignalReading, stain: SignalReading, blur: SignalReading, background: SignalReading) {
        self.highError = highError; self.stain = stain; self.blur = blur; self.background = background
    }

    public subscript(signal: ArtefactSignal) -> SignalReading {
        get {
            switch signal {
            case .highError: highError
            case .stain: stain
            case .blur: blur
            case .background: background
            }
        }
        set {
            switch signal {
            case .highError: highError = newValue
            case .stain: stain = newValue
            case .blur: blur = newValue
            case .background: background = newValue
            }
        }
    }

    /// The deviations of the four signals (flags all down: they depend on the threshold, see ``flagged(at:isTissue:)``).
    /// - Parameter z: every statistic's deviation (``Calibration/deviations(of:)``).
    public static func measure(_ statistics: PatchStatistics, deviations z: PatchStatistics) -> SignalReadings {
        var high = SignalReading(deviation: z[ArtefactSignal.errorStatistics[0]], statistic: ArtefactSignal.errorStatistics[0])
        for s in ArtefactSignal.errorStatistics.dropFirst() where z[s] > high.deviation {
            high = SignalReading(deviation: z[s], statistic: s)
        }
        let notTissue = statistics.tissueFraction < Verdict.notTissueMaxFraction
        return SignalReadings(highError: high,
                              stain: SignalReading(deviation: z.stainP99, statistic: .stainP99),
                              blur: SignalReading(deviation: -z.sharpness, statistic: .sharpness),
                              background: SignalReading(deviation: notTissue ? -z.tissueFraction : 0,
                                                        statistic: .tissueFraction))
    }

    /// The same readings with their flags set: `high_error`, `stain`, `blur` when their deviation is at least
    /// `thresholdDeviation` (the `signals` method's `D*` at the threshold); `background` when `!isTissue`.
    public func flagged(at thresholdDeviation: Double, isTissue: Bool) -> SignalReadings {
        var out = self
        for signal in [ArtefactSignal.highError, .stain, .blur] {
            out[signal].flag = self[signal].deviation >= thresholdDeviation
        }
        out.background.flag = !isTissue
        return out
    }

    /// The raised flags, in signal order.
    public var flags: [ArtefactSignal] { ArtefactSignal.allCases.filter { self[$0].flag } }
}
