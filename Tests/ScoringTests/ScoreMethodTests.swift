import Foundation
import Testing
@testable import Scoring

/// The score methods: range, monotonicity, two-sidedness, flags and the JSON record.
@Suite("Score methods")
struct ScoreMethodTests {
    static let calibration = try! ScoringFixtures.calibration()
    static let model = ModelIdentity(name: "fixture", version: "1.0", weightsSHA256: "abc123")

    /// Every statistic at signed deviation `z[statistic]` (default 0: the centre of the normal fit).
    static func patch(_ z: [Statistic: Double] = [:]) -> PatchStatistics {
        PatchStatistics { calibration.value(atDeviation: z[$0] ?? 0, for: $0) }
    }

    static func scorer(_ method: ScoreMethod, threshold: Double? = nil) -> PatchScorer {
        try! PatchScorer(model: model, calibration: calibration, method: method, threshold: threshold)
    }

    @Test("the default method is one constant, every default threshold 0.99")
    func defaults() {
        #expect(ScoreMethod.default == .combined)
        #expect(ScoreMethod.defaultThreshold == 0.99)
        let s = Self.scorer(.combined)
        #expect(s.threshold == 0.99 && s.thresholdSource == "default for method combined")
        let user = Self.scorer(.combined, threshold: 0.5)
        #expect(user.threshold == 0.5 && user.thresholdSource == "user")
    }

    @Test("one-sided DSSIM: the percentile of dssim_p99, rising with it, never low_error")
    func oneSided() throws {
        let scorer = Self.scorer(.oneSidedDSSIM)
        var previous = -1.0
        for z in stride(from: -6.0, through: 6.0, by: 0.5) {
            let r = try scorer.score(Self.patch([.dssimP99: z]))
            #expect(r.score >= previous && (0...1).contains(r.score))
            #expect(r.score == Self.calibration.percentile(of: r.statistics.dssimP99, for: .dssimP99))
            #expect(!r.flags.contains(.lowError))
            previous = r.score
        }
        #expect(try scorer.score(Self.patch([.dssimP99: 6])).flags == [.highError])
        #expect(try scorer.score(Self.patch([.dssimP99: -6])).score == 0)    // unusually LOW error looks normal here
    }

    @Test("two-sided methods: symmetric in z, rising with |z|, high_error above and low_error below",
          arguments: [(ScoreMethod.twoSidedLogSSIM, Statistic.ssim), (.twoSidedLogDSSIM, .dssimP99)])
    func twoSided(_ method: ScoreMethod, _ statistic: Statistic) throws {
        let scorer = Self.scorer(method)
        #expect(try scorer.score(Self.patch()).score < 1e-9)
        var previous = -1.0
        for z in stride(from: 0.0, through: 8.0, by: 0.25) {
            let up = try scorer.score(Self.patch([statistic: z])), down = try scorer.score(Self.patch([statistic: -z]))
            #expect(abs(up.score - down.score) < 1e-9, "z \(z)")
            #expect(abs(up.score - erf(z / 2.0.squareRoot())) < 1e-9)
            #expect(up.score >= previous && up.score <= 1)
            previous = up.score
        }
        let high = try scorer.score(Self.patch([statistic: 3])), low = try scorer.score(Self.patch([statistic: -3]))
        #expect(high.anomalous && high.flags == [.highError] && high.scoreStatistic == statistic && high.deviation > 0)
        #expect(low.anomalous && low.flags == [.lowError] && low.deviation < 0)
        #expect(try !scorer.score(Self.patch([statistic: 2.5])).anomalous)     // T(2.5) = 0.9876 < 0.99
    }

    @Test("the empirical percentile tracks the fitted score on log-normal calibration data")
    func percentileTracksScore() throws {
        let scorer = Self.scorer(.twoSidedLogSSIM)
        for z in [-2.0, -1.0, 0.5, 1.5, 2.0] {
            let r = try scorer.score(Self.patch([.ssim: z]))
            #expect(abs(r.percentile - r.score) < 0.08, "z \(z): \(r.percentile) vs \(r.score)")
        }
    }

    @Test("combined: the most deviant signal decides, Šidák over 6 signals, both directions and quality signals")
    func combined() throws {
        let scorer = Self.scorer(.combined)
        #expect(try scorer.score(Self.patch()).score < 1e-9)
        let k = 6.0
        for (z, statistic) in [(4.0, Statistic.mse), (-4.0, .mseP99), (3.5, .dssimP99), (-3.5, .ssim)] {
            let r = try scorer.score(Self.patch([statistic: z, .l1: 9]))     // l1 is not one of the signals
            #expect(r.scoreStatistic == statistic && abs(r.score - pow(erf(abs(z) / 2.0.squareRoot()), k)) < 1e-9)
            #expect(r.anomalous && r.flags == (z > 0 ? [.highError] : [.lowError]), "\(statistic) \(z)")
        }
        // Quality signals count only when LOW; then neither error flag fires, the quality flag does.
        let sharp = try scorer.score(Self.patch([.sharpness: 8]))
        #expect(sharp.score < 1e-9 && sharp.flags.isEmpty)
        let blurred = try scorer.score(Self.patch([.sharpness: -5]))
        #expect(blurred.anomalous && blurred.scoreStatistic == .sharpness && blurred.flags == [.blur])
        // 3 standard deviations on one of 6 signals is not enough after the correction.
        #expect(try !scorer.score(Self.patch([.mse: 3])).anomalous)
    }

    @Test("background and blur flags fire far below normal, whatever the method")
    func qualityFlags() throws {
        for method in ScoreMethod.allCases {
            let scorer = Self.scorer(method)
            var glass = Self.patch([.sharpness: -6])
            glass.tissueFraction = 0.02
            let r = try scorer.score(glass)
            #expect(r.flags.contains(.background) && r.flags.contains(.blur), "\(method)")
            #expect(try scorer.score(Self.patch([.sharpness: -2.9])).flags.isEmpty)
        }
    }

    @Test("non-finite statistics are refused")
    func nonFinite() {
        var s = Self.patch()
        s.mse = .nan
        #expect(throws: ScoringError.nonFiniteStatistics) { try Self.scorer(.combined).score(s) }
    }

    @Test("a missing or broken calibration cannot make a scorer")
    func scorerNeedsCalibration() {
        var broken = Self.calibration
        broken.quantileLevels = [0.5, 0.1]
        #expect(throws: ScoringError.self) { try PatchScorer(model: Self.model, calibration: broken) }
    }

    @Test("PatchScore JSON: stable snake_case keys, flags and method as strings, round trip")
    func json() throws {
        let r = try Self.scorer(.twoSidedLogSSIM).score(Self.patch([.ssim: -4]))
        let data = try JSONEncoder().encode(r)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(Set(object.keys) == ["statistics", "method", "score", "threshold", "threshold_source", "anomalous",
                                     "percentile", "score_statistic", "deviation", "flags", "percentiles", "deviations", "model"])
        #expect(object["method"] as? String == "two_sided_log_ssim" && object["flags"] as? [String] == ["low_error"])
        #expect(object["score_statistic"] as? String == "ssim" && object["threshold_source"] as? String == "default for method two_sided_log_ssim")
        #expect(object["model"] as? [String: String] == ["name": "fixture", "version": "1.0", "weights_sha256": "abc123"])
        #expect(Set((object["percentiles"] as! [String: Double]).keys) == Set(Statistic.allCases.map(\.rawValue)))
        #expect(try JSONDecoder().decode(PatchScore.self, from: data) == r)
    }
}
