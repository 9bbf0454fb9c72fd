import AutoencoderModel
import Foundation
import Testing
@testable import Scoring

/// The calibration block: decoding, validation, percentiles and deviations.
@Suite("Calibration")
struct CalibrationTests {
    /// A five-level table with a plateau at 1 (levels 0.25…0.75).
    static func plateau() -> Calibration {
        let summary = StatisticCalibration(quantiles: [0, 1, 1, 1, 2], mean: 1, std: 0.5)
        let method = MethodCalibration(quantiles: [0, 0, 1, 2, 3], tail: TailFit(level: 0.75, start: 2, scale: 0.5, exceedances: 1))
        return Calibration(source: "test", patches: 5, quantileLevels: [0, 0.25, 0.5, 0.75, 1],
                           statistics: Dictionary(uniqueKeysWithValues: Statistic.allCases.map { ($0.rawValue, summary) }),
                           stainPlane: SyntheticCalibration.plane,
                           methods: Dictionary(uniqueKeysWithValues: ScoreMethod.allCases.map { ($0.rawValue, method) }))
    }

    @Test("the block from stats.calibration_block decodes and validates")
    func decodes() throws {
        let c = try ScoringFixtures.calibration()
        #expect(c.patches == 500 && c.quantileLevels.count == 105)
        #expect(c.quantileLevels.first == 0 && c.quantileLevels[1] == 0.001 && c.quantileLevels.last == 1)
        #expect(c[.ssim].logTransform == "log(1 - x)" && c[.mse].logTransform == "log(x)")
    }

    @Test("percentiles equal np.interp in the quantile table, clamped to [0, 1] outside it")
    func percentiles() throws {
        let c = try ScoringFixtures.calibration()
        let queries = try ScoringFixtures.json("calibration.json")["queries"] as! [String: [String: Any]]
        for statistic in Statistic.allCases {
            let q = queries[statistic.rawValue]!
            let values = q["values"] as! [Double], expected = q["percentiles"] as! [Any]
            #expect(values.count == expected.count && values.count > 10)
            for (v, p) in zip(values, expected) {
                guard let p = p as? Double else { continue }    // null: np.interp is not the rule on a plateau
                #expect(abs(c.percentile(of: v, for: statistic) - p) < 1e-12, "\(statistic) \(v)")
            }
        }
    }

    @Test("a value on a plateau of equal quantiles gets the middle of its levels")
    func plateau() {
        let c = Self.plateau()
        #expect(c.percentile(of: 1, for: .mse) == 0.5)
        #expect(c.percentile(of: 0.5, for: .mse) == 0.125)
        #expect(c.percentile(of: 1.5, for: .mse) == 0.875)
        #expect(c.percentile(of: -3, for: .mse) == 0 && c.percentile(of: 0, for: .mse) == 0)
        #expect(c.percentile(of: 2, for: .mse) == 1 && c.percentile(of: 9, for: .mse) == 1)
    }

    @Test("quantile(at:) reads the table the other way")
    func quantile() throws {
        let c = try ScoringFixtures.calibration()
        for v in [0.002, 0.003, 0.005] {
            #expect(abs(c.quantile(at: c.percentile(of: v, for: .mse), for: .mse) - v) < 1e-12)
        }
        #expect(c.quantile(at: 0.001, for: .sharpness) == c[.sharpness].quantiles[1])
    }

    @Test("deviations: log-normal z, positive = more error, SSIM inverted; value(atDeviation:) inverts them")
    func deviations() throws {
        let c = try ScoringFixtures.calibration()
        let s = c[.ssim]
        let typical = 1 - exp(s.logMean!)
        #expect(abs(c.deviation(of: typical, for: .ssim)) < 1e-9)
        #expect(c.deviation(of: typical - 0.05, for: .ssim) > 0)       // lower SSIM = more error
        #expect(c.deviation(of: 1, for: .ssim) < -10)                   // perfect reconstruction: far below, finite
        #expect(c.deviation(of: 1, for: .ssim).isFinite)
        for statistic in Statistic.allCases {
            for z in [-2.5, 0.3, 4.0] {
                #expect(abs(c.deviation(of: c.value(atDeviation: z, for: statistic), for: statistic) - z) < 1e-9)
            }
        }
    }

    @Test("without the log fit the deviation is linear in mean and std")
    func linearFallback() {
        let c = Self.plateau()
        #expect(c.deviation(of: 2, for: .mse) == 2)           // (2 − 1)/0.5
        #expect(c.deviation(of: 0.5, for: .ssim) == 1)        // (1 − 0.5) − (1 − 1) over 0.5
    }

    @Test("validation names what is wrong")
    func validation() throws {
        var missing = Self.plateau()
        missing.statistics["sharpness"] = nil
        #expect(throws: ScoringError.invalidCalibration("statistic sharpness is missing")) { try missing.validate() }
        var short = Self.plateau()
        short.statistics["mse"]!.quantiles.removeLast()
        #expect { try short.validate() } throws: { "\($0)".contains("mse has 4 quantiles for 5 levels") }
        var descending = Self.plateau()
        descending.statistics["l1"]!.quantiles = [3, 2, 1, 1, 0]
        #expect { try descending.validate() } throws: { "\($0)".contains("non-decreasing") }
    }

    @Test("a card without a calibration block is a clear error; the fixture card has one")
    func cards() throws {
        let card = try ScoringFixtures.card()
        let c = try Calibration(card: card)
        #expect(c.patches == 72 && card.name == "parity-random")
        for json in [#"{"name": "m", "version": "2", "weights": {"file": "model.safetensors", "sha256": "ab"}, "calibration": null}"#,
                     #"{"name": "m", "version": "2", "weights": {"file": "model.safetensors", "sha256": "ab"}}"#] {
            let bare = try ModelCard(json: Data(json.utf8))
            #expect(throws: ScoringError.missingCalibration(model: "m 2")) { try Calibration(card: bare) }
            #expect("\(ScoringError.missingCalibration(model: "m 2"))".contains("no calibration block"))
        }
        let broken = try ModelCard(json: Data(#"{"name": "m", "version": "2", "weights": {"file": "w", "sha256": "ab"}, "calibration": {"patches": 4, "stain_plane": {}}}"#.utf8))
        #expect { try Calibration(card: broken) } throws: { "\($0)".contains("missing \"calibration.source\"") }
    }

    /// A v2 block's JSON object with `edit` applied.
    static func block(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(SyntheticCalibration.calibration)) as! [String: Any]
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test("a block from before scoring v2 is refused with the message that says what to do")
    func outdated() throws {
        let message = "calibration block predates scoring v2.1 (no stain_plane, or no stain_plane.od_floor 0.3: its stain "
            + "and sharpness tables measure older statistics): recalibrate with histoae calibrate"
        #expect(ScoringError.outdatedCalibration.description == message)
        for edit: (inout [String: Any]) -> Void in [{ $0["stain_plane"] = nil }, { $0["stain_plane"] = nil; $0["methods"] = nil },
                                                  { var s = $0["statistics"] as! [String: Any]; s["stain_p99"] = nil; $0["statistics"] = s },
                                                  { var p = $0["stain_plane"] as! [String: Any]; p["od_floor"] = nil; $0["stain_plane"] = p },
                                                  { var p = $0["stain_plane"] as! [String: Any]; p["od_floor"] = 0.25; $0["stain_plane"] = p }] {
            let json = try Self.block(edit)
            #expect(throws: ScoringError.outdatedCalibration) { try Calibration(json: json) }
            let card = try ModelCard(json: Data(#"{"name": "m", "version": "2", "weights": {"file": "w", "sha256": "ab"}, "calibration": "#.utf8
                                                + json + Data("}".utf8)))
            #expect(throws: ScoringError.outdatedCalibration) { try Calibration(card: card) }
        }
        let noMethods = try Self.block { $0["methods"] = nil }
        #expect { try Calibration(json: noMethods) } throws: {
            "\($0)".contains("lacks the method table(s) signals, combined, one_sided_dssim, two_sided_log_ssim, two_sided_log_dssim")
        }
        #expect(try Calibration(json: Self.block { _ in }) == SyntheticCalibration.calibration)
    }

    @Test("the block encodes in the spec's key order, statistics and methods in their order")
    func encodingOrder() throws {
        let keys = try KeyOrderRecorder.record(SyntheticCalibration.calibration)
        #expect(keys[""] == ["source", "patches", "quantile_levels", "statistics", "stain_plane", "methods"])
        #expect(keys["statistics"] == Statistic.allCases.map(\.rawValue) && keys["methods"] == ScoreMethod.allCases.map(\.rawValue))
        #expect(keys["statistics.mse"] == ["quantiles", "mean", "std", "log_transform", "log_mean", "log_std"])
        #expect(keys["stain_plane"] == ["normal", "pixels", "min_od", "od_floor"])
        #expect(keys["methods.signals"] == ["quantiles", "tail"] && keys["methods.signals.tail"] == ["level", "start", "scale", "exceedances"])
    }

    @Test("a stain plane must be a unit normal with enough pixels")
    func stainPlaneValidation() {
        var c = SyntheticCalibration.calibration
        c.stainPlane.pixels = 10
        #expect { try c.validate() } throws: { "\($0)".contains("stain_plane.pixels") }
        c = SyntheticCalibration.calibration
        c.stainPlane.normal = [0, 0]
        #expect { try c.validate() } throws: { "\($0)".contains("unit vector") }
        c = SyntheticCalibration.calibration
        c.methods["signals"]!.tail.scale = 0
        #expect { try c.validate() } throws: { "\($0)".contains("methods.signals.tail") }
    }
}
