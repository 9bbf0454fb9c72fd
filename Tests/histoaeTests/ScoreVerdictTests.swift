import Foundation
import ImageCodecs
import Testing

/// `histoae score` under scoring v2: `--fpr` (the same threshold as `--threshold 1−F`), verdicts (glass is
/// `not_tissue`), the summary's verdict counts, and the stain residual map of `--maps`.
@Suite("histoae score: verdicts, --fpr, stain map")
struct ScoreVerdictTests {
    typealias Score = ScoreCommandTests

    static func patch(_ name: String) throws -> RGBImage {
        try ImageDecoder.decode([UInt8](Data(contentsOf: Score.scoringFixtures.appendingPathComponent(name))))
    }

    /// Near-white glass: every pixel 238…250, a little grey noise, no stain.
    static func glass() -> RGBImage {
        var state: UInt32 = 12345
        var pixels = [UInt8](repeating: 0, count: 150 * 150 * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            state = state &* 1_103_515_245 &+ 12345
            let v = UInt8(238 + Int(state >> 16) % 13)
            pixels[i] = v; pixels[i + 1] = v; pixels[i + 2] = v &- 1
        }
        return RGBImage(width: 150, height: 150, pixels: pixels)
    }

    /// `image` with a 12-pixel-wide blue-green pen stroke across its middle rows.
    static func penMarked(_ image: RGBImage) -> RGBImage {
        var out = image
        for y in 69..<81 {
            for x in 0..<150 {
                let i = 3 * (y * 150 + x)
                out.pixels[i] = 20; out.pixels[i + 1] = 110; out.pixels[i + 2] = 120
            }
        }
        return out
    }

    static func write(_ images: [(String, RGBImage)], into folder: URL) throws {
        for (name, image) in images { try Data(PNGEncoder.encode(image)).write(to: folder.appendingPathComponent(name)) }
    }

    func run(_ arguments: [String], in root: URL) throws -> (CommandLineTests.Outcome, [String: [String: Any]]) {
        let result = try Score.histoae(["score", "--model", root.appendingPathComponent("model").path] + arguments
                                        + [root.appendingPathComponent("in").path])
        let records = try Score.records(result.stdout)
        let byName = Dictionary(uniqueKeysWithValues: records.map {
            (URL(fileURLWithPath: $0["path"] as! String).lastPathComponent, $0)
        })
        return (result, byName)
    }

    @Test("--fpr F is --threshold 1−F: same scores and verdicts, source \"user fpr\"")
    func fprIsOneMinusThreshold() throws {
        let root = try Score.workspace(inputs: Score.good)
        defer { try? FileManager.default.removeItem(at: root) }
        let (byFPR, fpr) = try run(["--fpr", "0.4"], in: root)
        let (byThreshold, threshold) = try run(["--threshold", "0.6"], in: root)
        #expect(byFPR.status == 0 && byThreshold.status == 0, "\(byFPR.stderr)\(byThreshold.stderr)")
        #expect(fpr.count == 3 && Set(fpr.keys) == Set(threshold.keys))
        for (name, a) in fpr {
            let b = threshold[name]!
            #expect(a["threshold_source"] as? String == "user fpr" && b["threshold_source"] as? String == "user threshold")
            #expect(abs((a["threshold"] as! Double) - 0.6) < 1e-12 && abs((a["fpr"] as! Double) - 0.4) < 1e-12)
            #expect(a["score"] as? Double == b["score"] as? Double && a["verdict"] as? String == b["verdict"] as? String)
            let score = a["score"] as! Double
            #expect((a["verdict"] as? String == "anomalous") == (score >= 0.6), "\(name)")
            #expect(a["anomalous"] as? Bool == (a["verdict"] as? String != "normal"))
        }
        #expect(byFPR.stderr.contains("threshold 0.6, fpr 0.4"), "\(byFPR.stderr)")
    }

    @Test("--fpr with --threshold, or outside [0, 1]: usage error, exit 64", arguments: [
        (["--fpr", "0.1", "--threshold", "0.9"], "give one of them"),
        (["--fpr", "1.5"], "false-positive rate must be in [0, 1]"),
        (["--threshold", "1.2"], "threshold must be in [0, 1]"),
        (["--fpr", "nan"], "false-positive rate must be in [0, 1]"),
    ])
    func badThresholds(_ arguments: [String], _ message: String) throws {
        let result = try Score.histoae(["score", "--model", "/nonexistent"] + arguments + ["x.png"])
        #expect(result.status == 64 && result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("glass is not_tissue (background flagged, anomalous); the summary counts each verdict")
    func glassIsNotTissue() throws {
        let root = try Score.workspace(inputs: Score.good)
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.write([("glass.png", Self.glass())], into: root.appendingPathComponent("in"))
        let (result, records) = try run([], in: root)
        #expect(result.status == 0, "\(result.stderr)")
        let glass = try #require(records["glass.png"])
        #expect(glass["verdict"] as? String == "not_tissue" && glass["anomalous"] as? Bool == true)
        #expect((glass["flags"] as? [String])?.contains("background") == true)
        #expect(((glass["statistics"] as? [String: Double])?["tissue_fraction"] ?? 1) < 0.10)
        let verdicts = records.values.map { $0["verdict"] as! String }
        let summary = "\(verdicts.filter { $0 == "normal" }.count) normal, \(verdicts.filter { $0 == "anomalous" }.count) anomalous, 1 not_tissue"
        #expect(result.stderr.split(separator: "\n").last?.contains("scored 4 of 4 inputs: " + summary) == true, "\(result.stderr)")
    }

    @Test("--maps writes the stain residual: a pen stroke lights it up, and raises stain_p99 and its signal")
    func stainMap() throws {
        let root = try Score.workspace(inputs: [])
        defer { try? FileManager.default.removeItem(at: root) }
        let clean = try Self.patch("patch0.png")
        try Self.write([("clean.png", clean), ("pen.png", Self.penMarked(clean))], into: root.appendingPathComponent("in"))
        let maps = root.appendingPathComponent("maps")
        let (result, records) = try run(["--maps", maps.path], in: root)
        #expect(result.status == 0, "\(result.stderr)")
        /// Mean channel value of the heatmap over the stroke's rows (viridis: brighter = more residual).
        func brightness(_ name: String) throws -> Double {
            let map = try ImageDecoder.decode([UInt8](Data(contentsOf: maps.appendingPathComponent("\(name)_stain.png"))))
            #expect((map.width, map.height) == (150, 150))
            let rows = map.pixels[(69 * 150 * 3)..<(81 * 150 * 3)]
            return Double(rows.reduce(0) { $0 + Int($1) }) / Double(rows.count)
        }
        #expect(try brightness("pen") > brightness("clean") + 20)
        func stain(_ name: String) -> (Double, Double) {
            let r = records[name]!
            return ((r["statistics"] as! [String: Double])["stain_p99"]!,
                    ((r["signals"] as! [String: Any])["stain"] as! [String: Any])["deviation"] as! Double)
        }
        #expect(stain("pen.png").0 > 2 * stain("clean.png").0 && stain("pen.png").1 > stain("clean.png").1 + 1)
    }
}
