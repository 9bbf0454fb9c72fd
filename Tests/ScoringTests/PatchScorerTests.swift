import Foundation
import Testing
@testable import Scoring

/// The scorer: score = 1 − exceedance, verdicts, flags, thresholds and FPRs, re-thresholding, the JSON record.
@Suite("Patch scorer")
struct PatchScorerTests {
    typealias S = SyntheticCalibration

    @Test("thresholds: the default is FPR 0.01; a user threshold or FPR says so; out of range is refused")
    func thresholds() throws {
        let d = S.scorer()
        #expect(d.threshold == 0.99 && d.fpr == 1 - 0.99 && d.thresholdSource == .default)
        #expect(d.thresholdSource.rawValue == "default (fpr 0.01)")
        let t = S.scorer(threshold: .threshold(0.5))
        #expect(t.threshold == 0.5 && t.fpr == 0.5 && t.thresholdSource.rawValue == "user threshold")
        let f = S.scorer(threshold: .fpr(0.05))
        #expect(f.threshold == 1 - 0.05 && f.fpr == 1 - (1 - 0.05) && f.thresholdSource.rawValue == "user fpr")
        for bad in [ThresholdChoice.threshold(1.5), .threshold(-0.1), .fpr(.nan), .fpr(2), .threshold(.infinity)] {
            #expect(throws: ScoringError.self) { try PatchScorer(model: S.model, calibration: S.calibration, threshold: bad) }
        }
    }

    @Test("score = 1 − exceedance(D) of the method's table; percentile = P(D)", arguments: ScoreMethod.allCases)
    func score(_ method: ScoreMethod) throws {
        let scorer = S.scorer(method)
        let levels = S.calibration.quantileLevels
        for z in [0.0, 1, 2.5, 4, 7] {
            let s = S.patch([.dssimP99: z, .ssim: z, .stainP99: z / 2])
            let r = try scorer.score(s)
            let d = method.evaluate(s, calibration: S.calibration).rawDeviation
            #expect(r.score == 1 - S.calibration[method].exceedance(of: d, levels: levels))
            #expect(r.percentile == S.calibration[method].percentile(of: d, levels: levels))
            #expect((0..<1).contains(r.score))
        }
    }

    @Test("verdict: not_tissue below 10 % tissue whatever the score, else anomalous iff score ≥ threshold")
    func verdicts() throws {
        let scorer = S.scorer()
        let d99 = scorer.flagDeviation(at: 0.99)
        let over = try scorer.score(S.patch([.stainP99: d99 + 0.05]))
        #expect(over.verdict == .anomalous && over.anomalous && over.score >= 0.99 && over.flags == [.stain])
        #expect(over.scoreStatistic == .stainP99 && abs(over.deviation - (d99 + 0.05)) < 1e-9)
        let under = try scorer.score(S.patch([.stainP99: d99 - 0.05]))
        #expect(under.verdict == .normal && !under.anomalous && under.score < 0.99 && under.flags.isEmpty)
        let glass = try scorer.score(S.patch(tissueFraction: 0.03))
        #expect(glass.verdict == .notTissue && glass.anomalous && glass.flags.contains(.background) && glass.signals.background.flag)
        let edge = try scorer.score(S.patch(tissueFraction: 0.10))
        #expect(edge.verdict == .normal && !edge.flags.contains(.background))
        #expect(Verdict(tissueFraction: 0.02, score: 0, threshold: 0.99) == .notTissue)
        #expect(Verdict(tissueFraction: 0.5, score: 0.99, threshold: 0.99) == .anomalous)
    }

    @Test("flags use the signals method's deviation at the threshold, whatever the method")
    func flags() throws {
        for method in ScoreMethod.allCases {
            let scorer = S.scorer(method)
            let star = scorer.flagDeviation(at: scorer.threshold)
            #expect(star == S.calibration[.signals].deviation(atThreshold: 0.99, levels: S.calibration.quantileLevels))
            let r = try scorer.score(S.patch([.sharpness: -(star + 0.1), .stainP99: star - 0.1, .mse: star + 0.2]))
            #expect(r.flags == [.highError, .blur], "\(method)")
            #expect(r.signals.highError.flag && !r.signals.stain.flag && r.signals.blur.flag && !r.signals.background.flag)
        }
        // A threshold of 1 flags no signal (its deviation is infinite); only background stays.
        let never = try S.scorer(threshold: .threshold(1)).score(S.patch([.stainP99: 50], tissueFraction: 0.01))
        #expect(never.flags == [.background] && never.verdict == .notTissue)
    }

    @Test("rethresholded equals scoring with that threshold, field for field, and goes back")
    func rethreshold() throws {
        let scorer = S.scorer()
        for s in [S.patch([.stainP99: 2.2]), S.patch([.dssimP99: 1.6, .sharpness: -2]), S.patch(tissueFraction: 0.04), S.patch()] {
            let original = try scorer.score(s)
            for choice in [ThresholdChoice.fpr(0.2), .threshold(0.7), .fpr(0.001), .threshold(1), .default] {
                let again = try scorer.rethresholded(original, threshold: choice)
                #expect(again == (try scorer.with(threshold: choice).score(s)), "\(choice)")
                #expect(try scorer.rethresholded(again, threshold: .default) == original)
            }
        }
        #expect(throws: ScoringError.self) { try scorer.rethresholded(scorer.score(S.patch()), threshold: .fpr(-1)) }
    }

    @Test("PatchScore JSON: the spec's keys in the spec's order; round trip")
    func json() throws {
        let r = try S.scorer(.signals, threshold: .fpr(0.05)).score(S.patch([.stainP99: 5], tissueFraction: 0.8))
        let keys = try KeyOrderRecorder.record(r)
        #expect(keys[""] == ["statistics", "method", "score", "threshold", "fpr", "threshold_source", "anomalous", "verdict",
                             "percentile", "score_statistic", "deviation", "flags", "signals", "percentiles", "deviations",
                             "calibration", "model"])
        let names = Statistic.allCases.map(\.rawValue)
        #expect(keys["statistics"] == names && keys["percentiles"] == names && keys["deviations"] == names)
        #expect(keys["signals"] == ["high_error", "stain", "blur", "background"])
        #expect(keys["signals.stain"] == ["deviation", "statistic", "flag"] && keys["calibration"] == ["source", "patches"])
        #expect(keys["model"] == ["name", "version", "weights_sha256"])
        let text = String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        #expect(Set(object.keys) == Set(keys[""]!))
        #expect(object["verdict"] as? String == "anomalous" && object["flags"] as? [String] == ["stain"])
        #expect(object["threshold_source"] as? String == "user fpr" && object["method"] as? String == "signals")
        let stain = (object["signals"] as! [String: Any])["stain"] as! [String: Any]
        #expect(stain["statistic"] as? String == "stain_p99" && stain["flag"] as? Bool == true)
        let calibration = object["calibration"] as! [String: Any]
        #expect(calibration["source"] as? String == "synthetic 500 seed 15" && calibration["patches"] as? Int == 500)
        #expect(object["model"] as? [String: String] == ["name": "fixture", "version": "1.0", "weights_sha256": "abc123"])
        #expect(try JSONDecoder().decode(PatchScore.self, from: Data(text.utf8)) == r)
    }

    @Test("non-finite statistics are refused; a broken calibration makes no scorer")
    func refusals() {
        var s = S.patch()
        s.stainP99 = .nan
        #expect(throws: ScoringError.nonFiniteStatistics) { try S.scorer().score(s) }
        var broken = S.calibration
        broken.methods["combined"] = nil
        #expect { try PatchScorer(model: S.model, calibration: broken) } throws: {
            "\($0)".contains("lacks the method table(s) combined")
        }
        var tilted = S.calibration
        tilted.stainPlane.normal = [1, 1, 0]
        #expect(throws: ScoringError.self) { try PatchScorer(model: S.model, calibration: tilted) }
    }
}
