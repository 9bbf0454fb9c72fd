import Foundation
import AutoencoderModel
@testable import histoae
import Scoring
import Testing

/// The block `histoae calibrate` writes is `Calibration`'s own `Encodable` layout: on the Scoring fixture
/// (written by training/scripts/make_scoring_fixtures.py with `stats.calibration_block`, its `digest` by
/// `stats.calibration_digest`) it must be Python's block key for key, number text for number text, and hash to
/// Python's digest.
struct CalibrationJSONTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ScoringTests/Fixtures/calibration.json")

    private struct FixtureFile: Decodable {
        let calibration: Calibration
    }

    /// The fixture's calibration decoded, its block as Python wrote it (order and number text kept), and Python's digest.
    private static func load() throws -> (calibration: Calibration, python: OrderedJSON, digest: String) {
        let data = try Data(contentsOf: fixture)
        let file = try OrderedJSON.parse([UInt8](data))
        let python = try #require(file["calibration"]), digest = try #require(file["digest"]?.string)
        return (try JSONDecoder().decode(FixtureFile.self, from: data).calibration, python, digest)
    }

    @Test func theFixtureBlockIsPythonsAndHashesToItsDigest() throws {
        let (calibration, python, digest) = try Self.load()
        let block = try CalibrationJSON.block(calibration)
        #expect(block == python)
        #expect(SHA256.hex(Data(PythonJSON.canonical(block).utf8)) == digest)
        #expect(CalibrationJSON.digest(block) == digest)
        #expect(CalibrationJSON.version(after: "1.3.0-rc.1", block: block) == "1.3.0+cal.\(digest.prefix(8))")
    }

    /// `stats.summarize` leaves the three log keys out where an argument is ≤ 0 (e.g. tissue_fraction of 0).
    @Test func aStatisticWithoutTheLogFitHasNoLogKeys() throws {
        var (calibration, python, _) = try Self.load()
        let name = Statistic.tissueFraction.rawValue
        calibration.statistics[name]?.logTransform = nil
        calibration.statistics[name]?.logMean = nil
        calibration.statistics[name]?.logStd = nil
        for key in ["log_transform", "log_mean", "log_std"] { python["statistics"]?[name]?[key] = nil }

        let block = try CalibrationJSON.block(calibration)
        #expect(block == python)
        guard case .object(let members)? = block["statistics"]?[name] else { Issue.record("no \(name) object"); return }
        #expect(members.map(\.key) == ["quantiles", "mean", "std"])
        #expect(block["statistics"]?[Statistic.mse.rawValue]?["log_std"] != nil)
    }

    @Test func aNonFiniteValueIsRefused() throws {
        var (calibration, _, _) = try Self.load()
        calibration.methods[ScoreMethod.signals.rawValue]?.tail.scale = .infinity
        #expect(throws: EncodingError.self) { try CalibrationJSON.block(calibration) }
    }
}
