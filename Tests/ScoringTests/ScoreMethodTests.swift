import Foundation
import Testing
@testable import Scoring

/// The methods' raw deviations, the signals, and the calibrated score on a synthetic v2 calibration.
@Suite("Score methods")
struct ScoreMethodTests {
    typealias S = SyntheticCalibration
    static let calibration = S.calibration

    static func outcome(_ method: ScoreMethod, _ statistics: PatchStatistics) -> ScoreMethod.Outcome {
        method.evaluate(statistics, calibration: calibration)
    }

    @Test("the default method is signals, listed first; every method has a table in the block")
    func defaults() {
        #expect(ScoreMethod.default == .signals && ScoreMethod.defaultThreshold == 0.99)
        #expect(ScoreMethod.allCases.map(\.rawValue)
                == ["signals", "combined", "one_sided_dssim", "two_sided_log_ssim", "two_sided_log_dssim"])
        #expect(Set(Self.calibration.methods.keys) == Set(ScoreMethod.allCases.map(\.rawValue)))
        #expect(Statistic.allCases.map(\.rawValue)
                == ["mse", "l1", "ssim", "mse_p99", "dssim_p99", "tissue_fraction", "sharpness", "stain_p99"])
    }

    @Test("one-sided DSSIM: D = max(0, z); the two-sided methods: D = |z|, the signed z reported")
    func simpleMethods() {
        for z in [-3.0, -0.5, 0, 1.25, 4] {
            let one = Self.outcome(.oneSidedDSSIM, S.patch([.dssimP99: z]))
            #expect(abs(one.rawDeviation - max(0, z)) < 1e-9 && one.statistic == .dssimP99 && abs(one.deviation - z) < 1e-9)
            let ssim = Self.outcome(.twoSidedLogSSIM, S.patch([.ssim: z]))
            #expect(abs(ssim.rawDeviation - abs(z)) < 1e-9 && ssim.statistic == .ssim && abs(ssim.deviation - z) < 1e-9)
            let dssim = Self.outcome(.twoSidedLogDSSIM, S.patch([.dssimP99: z]))
            #expect(abs(dssim.rawDeviation - abs(z)) < 1e-9 && dssim.statistic == .dssimP99)
        }
    }

    @Test("combined: the largest |z| of the error statistics or −z of tissue/sharpness; l1 and stain do not count")
    func combined() {
        for (z, statistic, d) in [(4.0, Statistic.mse, 4.0), (-4.5, .mseP99, 4.5), (-5, .sharpness, 5), (-3.5, .tissueFraction, 3.5)] {
            let o = Self.outcome(.combined, S.patch([statistic: z, .l1: 9, .stainP99: 2, .dssimP99: 1]))
            #expect(o.statistic == statistic && abs(o.rawDeviation - d) < 1e-9 && abs(o.deviation - z) < 1e-9, "\(statistic)")
        }
        let sharp = Self.outcome(.combined, S.patch([.sharpness: 8, .mse: 0.5]))
        #expect(sharp.statistic == .mse && abs(sharp.rawDeviation - 0.5) < 1e-9)     // high sharpness is not unusual here
    }

    /// Hand-made deviations: ties are exact.
    static func z(_ values: [Statistic: Double]) -> PatchStatistics { PatchStatistics { values[$0] ?? 0 } }

    @Test("signals: high_error is the largest error z (signed, first on ties), stain z(stain_p99), blur −z(sharpness), background only below 10 % tissue")
    func signals() {
        let tissue = S.patch()
        let r = SignalReadings.measure(tissue, deviations: Self.z([.mse: -1, .ssim: 2.5, .mseP99: 2.5, .dssimP99: 0.5, .l1: 7,
                                                                   .stainP99: 1.5, .sharpness: -0.7, .tissueFraction: -9]))
        #expect(r.highError == SignalReading(deviation: 2.5, statistic: .ssim))
        #expect(r.stain == SignalReading(deviation: 1.5, statistic: .stainP99))
        #expect(r.blur == SignalReading(deviation: 0.7, statistic: .sharpness))
        #expect(r.background == SignalReading(deviation: 0, statistic: .tissueFraction))    // 74 % tissue: no background
        let low = SignalReadings.measure(tissue, deviations: Self.z([.mse: -2, .ssim: -1, .mseP99: -3, .dssimP99: -1.5]))
        #expect(low.highError == SignalReading(deviation: -1, statistic: .ssim))
        for (fraction, expected) in [(0.05, 4.0), (0.0999, 4.0), (0.1, 0.0)] {
            var glass = tissue
            glass.tissueFraction = fraction
            #expect(SignalReadings.measure(glass, deviations: Self.z([.tissueFraction: -4])).background.deviation == expected)
        }
    }

    @Test("the signals method: the largest positive signal decides (first on ties); none positive → 0, decided by high_error")
    func signalsMethod() {
        func outcome(_ z: [Statistic: Double], tissueFraction: Double = 0.8) -> ScoreMethod.Outcome {
            var s = S.patch()
            s.tissueFraction = tissueFraction
            let deviations = Self.z(z)
            return ScoreMethod.signals.evaluate(deviations: deviations, signals: SignalReadings.measure(s, deviations: deviations))
        }
        #expect(outcome([.stainP99: 4, .dssimP99: 2]) == .init(rawDeviation: 4, statistic: .stainP99, deviation: 4))
        #expect(outcome([.sharpness: -5, .stainP99: 4]) == .init(rawDeviation: 5, statistic: .sharpness, deviation: 5))
        #expect(outcome([.sharpness: -3, .stainP99: 3, .mse: 3]) == .init(rawDeviation: 3, statistic: .mse, deviation: 3))
        #expect(outcome([.tissueFraction: -6, .stainP99: 2], tissueFraction: 0.02)
                == .init(rawDeviation: 6, statistic: .tissueFraction, deviation: 6))
        #expect(outcome([.mse: -1, .ssim: -2, .mseP99: -0.5, .dssimP99: -3, .stainP99: -1, .sharpness: 1])
                == .init(rawDeviation: 0, statistic: .mseP99, deviation: -0.5))
        // Through the calibration's own deviations.
        let real = Self.outcome(.signals, S.patch([.stainP99: 4, .dssimP99: 2]))
        #expect(real.statistic == .stainP99 && abs(real.rawDeviation - 4) < 1e-9)
    }

    @Test("exceedance is continuous at the tail start and never increases with D", arguments: ScoreMethod.allCases)
    func exceedance(_ method: ScoreMethod) {
        let table = Self.calibration[method], levels = Self.calibration.quantileLevels
        let t = table.tail.start
        #expect(table.tail.level == 0.9 && table.tail.exceedances >= 5 && table.tail.scale > 0)
        #expect(t == table.quantiles[levels.firstIndex(of: 0.9)!])
        let at = table.exceedance(of: t, levels: levels), above = table.exceedance(of: t.nextUp, levels: levels)
        #expect(abs(at - 0.1) < 1e-12 && abs(above - at) < 1e-12, "\(method): \(at) vs \(above)")
        #expect(abs(table.exceedance(of: t - 1e-9, levels: levels) - at) < 1e-6)
        var previous = 1.0
        for d in stride(from: 0.0, through: 12, by: 0.01) {
            let e = table.exceedance(of: d, levels: levels)
            #expect(e <= previous && e > 0, "\(method) D \(d)")
            previous = e
        }
        // The tail: exponential with the fitted scale past the start.
        let far = t + 3 * table.tail.scale
        #expect(abs(table.exceedance(of: far, levels: levels) - 0.1 * exp(-3)) < 1e-12)
    }

    @Test("the deviation at a threshold scores exactly that threshold", arguments: ScoreMethod.allCases)
    func thresholdDeviation(_ method: ScoreMethod) {
        let table = Self.calibration[method], levels = Self.calibration.quantileLevels
        for threshold in [0.9, 0.95, 0.99, 0.999, 0.99999] {
            let d = table.deviation(atThreshold: threshold, levels: levels)
            #expect(abs(1 - table.exceedance(of: d, levels: levels) - threshold) < 1e-12, "\(method) \(threshold)")
        }
        for threshold in [0.3, 0.5, 0.75] {      // below the tail: the table read the other way
            let d = table.deviation(atThreshold: threshold, levels: levels)
            #expect(d == Calibration.read(level: threshold, quantiles: table.quantiles, levels: levels))
            // … which inverts P(D) except on a plateau (one_sided_dssim: every patch with z ≤ 0 has D = 0).
            if table.quantiles.filter({ $0 == d }).count <= 1 {
                #expect(abs(table.percentile(of: d, levels: levels) - threshold) < 1e-9, "\(method) \(threshold)")
            }
        }
        #expect(table.deviation(atThreshold: 1, levels: levels) == .infinity)
    }

    @Test("the fitted tail: start the 0.9 quantile, scale the mean excess of the patches beyond it")
    func tailFit() {
        let d = [Double](repeating: 1, count: 91) + (1...10).map { 1 + Double($0) }      // 0.9 quantile: index 90; excesses 1…10
        let fit = MethodCalibration.fit(d, levels: Calibration.standardQuantileLevels)
        #expect(fit.tail.start == 1 && fit.tail.exceedances == 10 && fit.tail.scale == 5.5)
        let flat = MethodCalibration.fit([Double](repeating: 2, count: 60), levels: Calibration.standardQuantileLevels)
        #expect(flat.tail.exceedances == 0 && flat.tail.scale == MethodCalibration.minimumScale)
    }
}
