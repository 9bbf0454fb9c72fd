import Foundation
import Testing
@testable import Scoring
import TensorKernels

/// Seeded mutations of the fixture's valid calibration block (calibration.json), at the JSON-value level
/// (dropped keys, hostile numbers, resized tables, decreasing quantiles, bad stain normals and tails, …) and
/// at the byte level. Each mutant must either be refused by `Calibration(json:)` with a one-line
/// ``ScoringError``, or score every fixed set of statistics, with every method and threshold, to a finite
/// score in `[0, 1]` with a consistent verdict. Scoring is built `-Ounchecked`, so a missed check would not
/// trap here: it would show up as a NaN, an out-of-range score or garbage — which is what is checked.
@Suite("Hostile calibration blocks are refused or score sanely")
struct HostileCalibrationTests {
    static let valueMutants = 3000
    static let byteMutants = 400

    /// Statistics a patch can produce, normal and extreme (ssim stays in [-1, 1], tissue in [0, 1]).
    static let probes: [PatchStatistics] = [
        PatchStatistics(mse: 0.003, l1: 0.04, ssim: 0.94, mseP99: 0.02, dssimP99: 0.08,
                        tissueFraction: 0.97, sharpness: 0.004, stainP99: 0.05),
        PatchStatistics { _ in 0 },
        PatchStatistics { _ in 1 },
        PatchStatistics { _ in 1e-300 },
        PatchStatistics { $0 == .ssim ? -1 : $0 == .tissueFraction ? 1 : 1e300 },
        PatchStatistics { $0 == .ssim ? 1 : $0 == .tissueFraction ? 0.05 : 1e300 },
    ]
    static let thresholds: [ThresholdChoice] = [.threshold(0), .threshold(0.5), .threshold(0.99), .threshold(1), .fpr(0)]
    static let model = ModelIdentity(name: "hostile", version: "0", weightsSHA256: "")

    /// The fixture block exactly as `JSONDecoder` reads it, as a tree of plain values to mutate.
    static func exactCalibration() throws -> Calibration {
        struct File: Decodable { var calibration: Calibration }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: ScoringFixtures.url("calibration.json"))).calibration
    }

    static func block() throws -> [String: Any] { JSONMutator.tree(of: try exactCalibration()) }

    // MARK: The fuzz

    @Test("value-level mutants are refused or score in [0, 1]")
    func valueMutants() throws {
        let original = try Self.block()
        // The fast serializer must reproduce the block exactly, or the mutants would test it instead.
        #expect(try Calibration(json: JSONMutator.serialize(original)) == Self.exactCalibration())
        #expect(Self.check(JSONMutator.serialize(original)) == .accepted)
        let shape = JSONMutator.Shape(of: original)
        var rng = SplitMix64(seed: 0xCA11_B4A7)
        var tally = Tally()
        for index in 0..<Self.valueMutants {
            var tree: Any = original
            var applied: [String] = []
            for _ in 0..<Int.random(in: 1...3, using: &rng) { applied.append(JSONMutator.mutate(&tree, shape: shape, using: &rng)) }
            let data = JSONMutator.serialize(tree)
            tally.record(Self.check(data), mutant: "value #\(index): \(applied.joined(separator: "; "))")
        }
        tally.expectSane(total: Self.valueMutants)
    }

    @Test("byte-level mutants are refused or score in [0, 1]")
    func byteMutants() throws {
        let original = [UInt8](JSONMutator.serialize(try Self.block()))
        var rng = SplitMix64(seed: 0xB17E_F11B)
        var tally = Tally()
        for index in 0..<Self.byteMutants {
            let (bytes, what) = JSONMutator.mutateBytes(original, using: &rng)
            tally.record(Self.check(Data(bytes)), mutant: "bytes #\(index): \(what)")
        }
        tally.expectSane(total: Self.byteMutants)
    }

    // MARK: Named regressions (minimal inputs the fuzz found)

    /// A table spanning ±greatestFiniteMagnitude: `(v − q[lo]) / (q[hi] − q[lo])` was `∞/∞ = NaN` for a
    /// statistic of 1e300, so the result's percentile of that statistic was NaN.
    @Test("a quantile table spanning the whole Double range interpolates to a finite percentile")
    func quantilesSpanningDoubleRange() throws {
        var tree = try Self.block()
        var mse = (tree["statistics"] as! [String: Any])["mse"] as! [String: Any]
        let count = (mse["quantiles"] as! [Any]).count
        mse["quantiles"] = [-Double.greatestFiniteMagnitude] + Array(repeating: Double.greatestFiniteMagnitude, count: count - 1)
        var statistics = tree["statistics"] as! [String: Any]
        statistics["mse"] = mse
        tree["statistics"] = statistics
        let calibration = try Calibration(json: JSONMutator.serialize(tree))
        let percentile = calibration.percentile(of: 1e300, for: .mse)
        #expect(percentile.isFinite && (0...1).contains(percentile), "percentile \(percentile)")
        #expect(Self.check(JSONMutator.serialize(tree)) == .accepted)
    }

    /// Same for a method's table: the score of a patch whose raw deviation lands inside such a span.
    @Test("a method table spanning the whole Double range gives a finite score")
    func methodQuantilesSpanningDoubleRange() throws {
        var tree = try Self.block()
        var methods = tree["methods"] as! [String: Any]
        var table = methods["one_sided_dssim"] as! [String: Any]
        let count = (table["quantiles"] as! [Any]).count
        table["quantiles"] = [-Double.greatestFiniteMagnitude] + Array(repeating: Double.greatestFiniteMagnitude, count: count - 1)
        table["tail"] = ["level": 0.9, "start": Double.greatestFiniteMagnitude, "scale": 1.0, "exceedances": 1] as [String: Any]
        methods["one_sided_dssim"] = table
        tree["methods"] = methods
        let calibration = try Calibration(json: JSONMutator.serialize(tree))
        let percentile = calibration[.oneSidedDSSIM].percentile(of: 1e300, levels: calibration.quantileLevels)
        #expect(percentile.isFinite && (0...1).contains(percentile), "percentile \(percentile)")
        let exceedance = calibration[.oneSidedDSSIM].exceedance(of: 1e300, levels: calibration.quantileLevels)
        #expect(exceedance.isFinite && (0...1).contains(exceedance), "exceedance \(exceedance)")
    }

    // MARK: Checking one mutant

    enum Outcome: Equatable {
        case refused
        case accepted
        case broken(String)
    }

    /// Refused with a one-line ``ScoringError``, or scores every probe sanely under every method and threshold.
    static func check(_ data: Data) -> Outcome {
        let calibration: Calibration
        do { calibration = try Calibration(json: data) } catch {
            let text = error.description
            return text.isEmpty || text.contains("\n") ? .broken("error is not one line: \(text)") : .refused
        }
        for method in ScoreMethod.allCases {
            let scorer: PatchScorer
            do { scorer = try PatchScorer(model: model, calibration: calibration, method: method) } catch {
                return .broken("\(method.rawValue): a validated block refused by PatchScorer: \(error)")
            }
            for (p, statistics) in probes.enumerated() {
                let result: PatchScore
                do { result = try scorer.score(statistics) } catch {
                    return .broken("\(method.rawValue) probe \(p): \(error)")
                }
                if let problem = problem(in: result) { return .broken("\(method.rawValue) probe \(p): \(problem)") }
                for choice in thresholds {
                    do {
                        let again = try scorer.rethresholded(result, threshold: choice)
                        if again.score != result.score { return .broken("\(method.rawValue) \(choice): score changed") }
                        if let problem = problem(in: again) { return .broken("\(method.rawValue) probe \(p) \(choice): \(problem)") }
                    } catch {
                        return .broken("\(method.rawValue) \(choice): \(error)")
                    }
                }
            }
        }
        return .accepted
    }

    /// What is wrong with a result, if anything.
    static func problem(in r: PatchScore) -> String? {
        func unit(_ x: Double) -> Bool { x.isFinite && (0...1).contains(x) }
        guard unit(r.score) else { return "score \(r.score)" }
        guard unit(r.percentile) else { return "percentile \(r.percentile)" }
        guard unit(r.threshold), unit(r.fpr) else { return "threshold \(r.threshold) fpr \(r.fpr)" }
        for s in Statistic.allCases {
            guard unit(r.percentiles[s]) else { return "percentiles.\(s.rawValue) \(r.percentiles[s])" }
            guard !r.deviations[s].isNaN else { return "deviations.\(s.rawValue) NaN" }
        }
        guard !r.deviation.isNaN else { return "deviation NaN" }
        for signal in ArtefactSignal.allCases where r.signals[signal].deviation.isNaN { return "signal \(signal) NaN" }
        let verdict = Verdict(tissueFraction: r.statistics.tissueFraction, score: r.score, threshold: r.threshold)
        guard r.verdict == verdict, r.anomalous == (verdict != .normal) else { return "verdict \(r.verdict)" }
        return nil
    }

    /// Counts outcomes and records the first few broken mutants as issues.
    struct Tally {
        var refused = 0, accepted = 0, broken = 0

        mutating func record(_ outcome: Outcome, mutant: String) {
            switch outcome {
            case .refused: refused += 1
            case .accepted: accepted += 1
            case .broken(let why):
                broken += 1
                if broken <= 5 { Issue.record("\(mutant) → \(why)") }
            }
        }

        func expectSane(total: Int) {
            #expect(broken == 0)
            #expect(refused + accepted + broken == total)
            // Both branches must be exercised, or the fuzz tests nothing.
            #expect(refused > total / 10, "refused \(refused) of \(total)")
            #expect(accepted > total / 50, "accepted \(accepted) of \(total)")
        }
    }
}
