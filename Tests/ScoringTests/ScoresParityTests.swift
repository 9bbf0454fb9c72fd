import Foundation
import Testing
@testable import Scoring

/// Scoring v2 against stats.py: `score_patch` results (scores.json), the method tables' queries, and the
/// calibration block `calibration_block` makes from the same per-patch values (calibration.json).
@Suite("Scores parity")
struct ScoresParityTests {
    static var fixture: [String: Any] { try! ScoringFixtures.json("scores.json") }
    static let calibration = try! ScoringFixtures.calibration()
    static let model = ModelIdentity(name: "m", version: "1", weightsSHA256: "0")
    /// Relative (to max(1, |expected|)): the arithmetic is the same, libm's log/exp may differ by an ulp.
    static let tolerance = 1e-9

    /// Paths where `actual` and `expected` (JSON objects) differ: strings, booleans and keys exactly, numbers to
    /// ``tolerance``.
    static func differences(_ actual: Any, _ expected: Any, _ path: String = "") -> [String] {
        switch (actual, expected) {
        case let (a as [String: Any], e as [String: Any]):
            guard Set(a.keys) == Set(e.keys) else { return ["\(path): keys \(a.keys.sorted()) vs \(e.keys.sorted())"] }
            return e.keys.sorted().flatMap { differences(a[$0]!, e[$0]!, path + "." + $0) }
        case let (a as [Any], e as [Any]):
            guard a.count == e.count else { return ["\(path): \(a.count) vs \(e.count) items"] }
            return zip(a, e).enumerated().flatMap { differences($1.0, $1.1, "\(path)[\($0)]") }
        case let (a as String, e as String):
            return a == e ? [] : ["\(path): \(a) vs \(e)"]
        case let (a as NSNumber, e as NSNumber):
            let x = a.doubleValue, y = e.doubleValue
            return abs(x - y) <= tolerance * max(1, abs(y)) ? [] : ["\(path): \(x) vs \(y)"]
        default:
            return ["\(path): \(actual) vs \(expected)"]
        }
    }

    static func choice(_ result: [String: Any]) -> ThresholdChoice {
        switch result["threshold_source"] as! String {
        case "default (fpr 0.01)": .default
        case "user fpr": .fpr(result["fpr"] as! Double)
        default: .threshold(result["threshold"] as! Double)
        }
    }

    static func statistics(_ object: [String: Any]) throws -> PatchStatistics {
        try JSONDecoder().decode(PatchStatistics.self, from: JSONSerialization.data(withJSONObject: object))
    }

    /// Our result for one of Python's, as a JSON object without `model`.
    static func score(like expected: [String: Any]) throws -> [String: Any] {
        let scorer = try PatchScorer(model: model, calibration: calibration,
                                     method: ScoreMethod(rawValue: expected["method"] as! String)!, threshold: choice(expected))
        let result = try scorer.score(statistics(expected["statistics"] as! [String: Any]))
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(result)) as! [String: Any]
        #expect(object.removeValue(forKey: "model") != nil)
        return object
    }

    @Test("every case's result equals score_patch's: score, verdict, flags, signals, every field")
    func cases() throws {
        #expect(Self.fixture["calibration"] as? String == "calibration.json")
        let cases = Self.fixture["cases"] as! [[String: Any]]
        #expect(cases.count == 15)
        var verdicts: Set<String> = [], flags: Set<String> = []
        for c in cases {
            for expected in c["results"] as! [[String: Any]] {
                let issues = Self.differences(try Self.score(like: expected), expected)
                #expect(issues.isEmpty, "\(c["name"]!) \(expected["method"]!) \(expected["threshold"]!): \(issues)")
                verdicts.insert(expected["verdict"] as! String)
                flags.formUnion(expected["flags"] as! [String])
            }
        }
        #expect(verdicts == ["normal", "anomalous", "not_tissue"] && flags == ["high_error", "stain", "blur", "background"])
        for expected in Self.fixture["extra"] as! [[String: Any]] {
            let issues = Self.differences(try Self.score(like: expected), expected)
            #expect(issues.isEmpty, "extra \(expected["threshold_source"]!): \(issues)")
        }
    }

    @Test("re-thresholding a default result gives score_patch's result at the other threshold")
    func rethresholded() throws {
        for c in Self.fixture["cases"] as! [[String: Any]] {
            let results = c["results"] as! [[String: Any]]
            for expected in results where expected["threshold_source"] as? String == "user threshold" {
                let method = ScoreMethod(rawValue: expected["method"] as! String)!
                let scorer = try PatchScorer(model: Self.model, calibration: Self.calibration, method: method)
                let base = try scorer.score(Self.statistics(expected["statistics"] as! [String: Any]))
                let moved = try scorer.rethresholded(base, threshold: Self.choice(expected))
                var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(moved)) as! [String: Any]
                object["model"] = nil
                #expect(Self.differences(object, expected).isEmpty, "\(c["name"]!) \(method) \(expected["threshold"]!)")
            }
        }
    }

    @Test("exceedance, score, P(D) and D* of every method table equal stats.py's", arguments: ScoreMethod.allCases)
    func queries(_ method: ScoreMethod) throws {
        let q = (Self.fixture["queries"] as! [String: [String: [Double]]])[method.rawValue]!
        let table = Self.calibration[method], levels = Self.calibration.quantileLevels
        let d = q["deviations"]!
        #expect(d.count > 5)
        let ours: [String: [Double]] = [
            "exceedances": d.map { table.exceedance(of: $0, levels: levels) },
            "scores": d.map { 1 - table.exceedance(of: $0, levels: levels) },
            "percentiles": d.map { table.percentile(of: $0, levels: levels) },
            "threshold_deviations": q["thresholds"]!.map { table.deviation(atThreshold: $0, levels: levels) },
        ]
        for (key, values) in ours {
            #expect(Self.differences(values, q[key]!).isEmpty, "\(method) \(key): \(Self.differences(values, q[key]!))")
        }
    }

    @Test("CalibrationBuilder turns the per-patch values into calibration_block's block")
    func builder() throws {
        let fixture = try ScoringFixtures.json("calibration.json")
        let perPatch = fixture["per_patch"] as! [String: [Double]]
        let count = perPatch["mse"]!.count
        #expect(count == 500)
        var builder = CalibrationBuilder(stainPlane: Self.calibration.stainPlane)
        for i in 0..<count { try builder.add(PatchStatistics { perPatch[$0.rawValue]![i] }) }
        let block = try builder.build(source: Self.calibration.source)
        let ours = try JSONSerialization.jsonObject(with: JSONEncoder().encode(block))
        let issues = Self.differences(ours, fixture["calibration"]!)
        #expect(issues.isEmpty, "\(issues.prefix(10))")
        #expect(block.methods.keys.sorted() == Self.calibration.methods.keys.sorted())
        for method in ScoreMethod.allCases { #expect(block[method].tail.exceedances == Self.calibration[method].tail.exceedances) }

        // One patch fewer than the minimum: refused, naming it (stats.py raises ValueError).
        var short = CalibrationBuilder(stainPlane: Self.calibration.stainPlane)
        for i in 0..<49 { try short.add(PatchStatistics { perPatch[$0.rawValue]![i] }) }
        #expect { try short.build(source: "x") } throws: { "\($0)".contains("at least 50") }
    }
}
