import Foundation
@testable import Scoring
import TensorKernels

/// A v2 calibration built here, by ``CalibrationBuilder``, from seeded random per-patch statistics (log-normal
/// errors and signals, 1 − log-normal SSIM, uniform tissue fraction in 0.5…1): the score logic's tests do not
/// depend on the Python fixtures.
enum SyntheticCalibration {
    static let plane = StainPlane(normal: normalized([0.32, -0.71, 0.63]), pixels: 123_456)

    static func normalized(_ v: [Double]) -> [Double] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    /// `count` patches from `seed`.
    static func statistics(count: Int, seed: UInt64 = 15) -> [PatchStatistics] {
        var rng = SplitMix64(seed: seed)
        func gaussian() -> Double {    // Box–Muller
            let u = Double.random(in: Double.ulpOfOne ..< 1, using: &rng), v = Double.random(in: 0 ..< 1, using: &rng)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        func logNormal(_ median: Double, _ sigma: Double) -> Double { median * exp(sigma * gaussian()) }
        return (0..<count).map { _ in
            PatchStatistics(mse: logNormal(0.003, 0.4), l1: logNormal(0.04, 0.3), ssim: 1 - logNormal(0.06, 0.3),
                            mseP99: logNormal(0.02, 0.5), dssimP99: logNormal(0.08, 0.4),
                            tissueFraction: 0.5 + 0.5 * Double.random(in: 0 ..< 1, using: &rng),
                            sharpness: logNormal(0.004, 0.5), stainP99: logNormal(0.05, 0.3))
        }
    }

    static func build(count: Int = 500, seed: UInt64 = 15) throws -> Calibration {
        var builder = CalibrationBuilder(stainPlane: plane)
        for s in statistics(count: count, seed: seed) { try builder.add(s) }
        return try builder.build(source: "synthetic \(count) seed \(seed)")
    }

    static let calibration: Calibration = try! build()
    static let model = ModelIdentity(name: "fixture", version: "1.0", weightsSHA256: "abc123")

    /// Every statistic at signed deviation `z[statistic]` (default 0: the centre of the normal fit).
    static func patch(_ z: [Statistic: Double] = [:], tissueFraction: Double? = nil) -> PatchStatistics {
        var s = PatchStatistics { calibration.value(atDeviation: z[$0] ?? 0, for: $0) }
        if let tissueFraction { s.tissueFraction = tissueFraction }
        return s
    }

    static func scorer(_ method: ScoreMethod = .signals, threshold: ThresholdChoice = .default) -> PatchScorer {
        try! PatchScorer(model: model, calibration: calibration, method: method, threshold: threshold)
    }
}
