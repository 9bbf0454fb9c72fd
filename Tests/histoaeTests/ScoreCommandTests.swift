import AutoencoderModel
import Foundation
import ImageCodecs
import Testing

/// `histoae score` end to end: the built binary next to this test bundle, on a tiny calibrated model (the
/// random parity weights of AutoencoderModelTests with ScoringTests/Fixtures/model.json beside them).
@Suite("histoae score")
struct ScoreCommandTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let weights = tests.appendingPathComponent("AutoencoderModelTests/Fixtures/parity_weights_f16.safetensors")
    static let codecFixtures = tests.appendingPathComponent("ImageCodecsTests/Fixtures")
    static let scoringFixtures = tests.appendingPathComponent("ScoringTests/Fixtures")

    /// The one runner of the built binary (``CommandLineTests/histoae(_:)``).
    static func histoae(_ arguments: [String]) throws -> CommandLineTests.Outcome { try CommandLineTests.histoae(arguments) }

    /// A temporary folder with `model/` (weights + card, `card` rewritten if given) and `in/` (the `inputs`).
    static func workspace(inputs: [URL], card: ((inout [String: Any]) -> Void)? = nil) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("histoae-score-\(UUID())")
        let model = root.appendingPathComponent("model"), input = root.appendingPathComponent("in")
        for folder in [model, input] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(at: weights, to: model.appendingPathComponent("model.safetensors"))
        var json = try JSONSerialization.jsonObject(
            with: Data(contentsOf: scoringFixtures.appendingPathComponent("model.json"))) as! [String: Any]
        card?(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: model.appendingPathComponent("model.json"))
        for file in inputs { try FileManager.default.copyItem(at: file, to: input.appendingPathComponent(file.lastPathComponent)) }
        return root
    }

    static let good = ["patch0.png", "patch1.png", "recon_blur0.png"].map { scoringFixtures.appendingPathComponent($0) }
    static let bad = ["kather_patch.jpg", "bad_crc.png"].map { codecFixtures.appendingPathComponent($0) }

    static func records(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    @Test("a folder mixing good patches, a wrong-size image and a corrupt file: all good ones scored, exit 2")
    func mixedFolder() throws {
        let root = try Self.workspace(inputs: Self.good + Self.bad)
        defer { try? FileManager.default.removeItem(at: root) }
        let maps = root.appendingPathComponent("maps")
        let missing = root.appendingPathComponent("nope.png").path
        let result = try Self.histoae(["score", "--model", root.appendingPathComponent("model").path, "--maps", maps.path,
                                       "--threads", "2", "--batch", "2", root.appendingPathComponent("in").path, missing])
        #expect(result.status == 2, "\(result.stderr)")
        let records = try Self.records(result.stdout)
        #expect(records.count == 6)
        let byName = Dictionary(uniqueKeysWithValues: records.map { (URL(fileURLWithPath: $0["path"] as! String).lastPathComponent, $0) })
        for name in ["patch0.png", "patch1.png", "recon_blur0.png"] {
            let r = byName[name]!
            #expect(r["error"] == nil && (r["score"] as? Double).map { (0...1).contains($0) } == true, "\(name)")
            #expect(r["method"] as? String == "signals" && r["percentile"] is Double && r["flags"] is [String])
            #expect(r["verdict"] as? String == "normal" || r["verdict"] as? String == "anomalous")
            #expect(r["threshold_source"] as? String == "default (fpr 0.01)" && r["threshold"] as? Double == 0.99)
            #expect((r["signals"] as? [String: Any]).map { Set($0.keys) } == ["high_error", "stain", "blur", "background"])
            #expect((r["calibration"] as? [String: Any])?["patches"] as? Int == 72)
            #expect((r["model"] as? [String: String])?["name"] == "parity-random")
            #expect((r["model"] as? [String: String])?["version"] == "0.0.0-test")
            let stem = (name as NSString).deletingPathExtension
            for suffix in ["mse", "ssim", "stain", "panel"] {
                let png = try ImageDecoder.decode([UInt8](Data(contentsOf: maps.appendingPathComponent("\(stem)_\(suffix).png"))))
                // The panel: input, reconstruction and three maps at ×2, with margins and gaps.
                #expect(suffix == "panel" ? (png.width, png.height) == (1572, 412) : (png.width, png.height) == (150, 150))
            }
        }
        #expect((byName["kather_patch.jpg"]?["error"] as? String)?.contains("64×64, expected 150×150") == true)
        #expect((byName["bad_crc.png"]?["error"] as? String)?.contains("corrupt") == true)
        #expect((byName["nope.png"]?["error"] as? String)?.contains("no such file") == true)
        #expect(byName["bad_crc.png"]?["score"] == nil)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.contains { $0.contains("kather_patch.jpg") } && lines.contains { $0.contains("bad_crc.png") })
        #expect(lines.last?.contains("scored 3 of 6 inputs: ") == true)
        let anomalous = records.filter { $0["verdict"] as? String == "anomalous" }.count
        #expect(lines.last?.contains("\(3 - anomalous) normal, \(anomalous) anomalous, 0 not_tissue") == true, "\(lines.last ?? "")")
        // Records follow the input order: the folder sorted by name, then the missing file.
        #expect(records.map { URL(fileURLWithPath: $0["path"] as! String).lastPathComponent }
                == ["bad_crc.png", "kather_patch.jpg", "patch0.png", "patch1.png", "recon_blur0.png", "nope.png"])
    }

    @Test("CSV, the .safetensors form of --model, a user threshold and another method; all scored, exit 0")
    func csv() throws {
        let root = try Self.workspace(inputs: Self.good)
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try Self.histoae(["score", "--model", root.appendingPathComponent("model/model.safetensors").path,
                                       "--format", "csv", "--method", "combined", "--threshold", "0.5",
                                       root.appendingPathComponent("in").path])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").map(Self.csvFields)
        #expect(rows.count == 4)
        let header = rows[0]
        #expect(header.prefix(4) == ["path", "error", "mse", "l1"] && header.contains("flags") && header.contains("model_sha256"))
        for column in ["stain_p99", "fpr", "verdict", "high_error_deviation", "stain_deviation", "blur_deviation",
                       "background_deviation", "calibration_source"] {
            #expect(header.contains(column), "\(column)")
        }
        for row in rows.dropFirst() {
            #expect(row.count == header.count)
            let field = { (name: String) in row[header.firstIndex(of: name)!] }
            #expect(field("error").isEmpty && field("method") == "combined" && field("threshold") == "0.5")
            #expect(field("threshold_source") == "user threshold" && Double(field("score")) != nil)
            #expect(field("fpr") == "0.5" && ["normal", "anomalous"].contains(field("verdict")))
            #expect(field("anomalous") == String(field("verdict") == "anomalous"))
            #expect(Double(field("stain_deviation")) != nil && field("calibration_source").hasPrefix("Kather 2016"))
        }
    }

    @Test("every record names the precision the model ran in: JSON's \"precision\", CSV's last column",
          arguments: ["fp32", "bf16"])
    func precisionIsNamed(_ precision: String) throws {
        // bf16 falls back to fp32 (saying so on stderr) where the CPU lacks AVX512-BF16 or it does not pay.
        let resolution = ModelPrecision(rawValue: precision)!.resolved()
        let runs = resolution.precision.rawValue
        let root = try Self.workspace(inputs: Array(Self.good.prefix(2)))
        defer { try? FileManager.default.removeItem(at: root) }
        let arguments = ["score", "--model", root.appendingPathComponent("model").path, "--precision", precision,
                         root.appendingPathComponent("in").path]
        let json = try Self.histoae(arguments)
        #expect(json.status == 0, "\(json.stderr)")
        let records = try Self.records(json.stdout)
        #expect(records.count == 2 && records.allSatisfy { $0["precision"] as? String == runs && $0["model"] != nil })
        // A fallback is said once, on stderr (no AVX512-BF16, or an Intel CPU where bf16 does not pay).
        #expect(json.stderr.components(separatedBy: resolution.fallbackReason ?? "\u{0}").count
                == (resolution.fallbackReason == nil ? 1 : 2), "\(json.stderr)")
        let csv = try Self.histoae(arguments + ["--format", "csv"])
        let rows = csv.stdout.split(separator: "\n").map(Self.csvFields)
        #expect(csv.status == 0 && rows.count == 3 && rows[0].last == "precision", "\(csv.stderr)")
        #expect(rows.dropFirst().allSatisfy { $0.count == rows[0].count && $0.last == runs })
    }

    /// One CSV line's fields (RFC 4180 quoting: the calibration source has commas).
    static func csvFields(_ line: Substring) -> [String] {
        var fields: [String] = [], field = "", quoted = false, previous: Character?
        for c in line {
            if quoted {
                if c == "\"" { quoted = false } else { field.append(c) }
            } else if c == "\"" {
                if previous == "\"" { field.append("\"") }
                quoted = true
            } else if c == "," {
                fields.append(field); field = ""
            } else {
                field.append(c)
            }
            previous = c
        }
        return fields + [field]
    }

    @Test("nothing scorable: exit 1")
    func nothingScored() throws {
        let root = try Self.workspace(inputs: Self.bad)
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try Self.histoae(["score", "--model", root.appendingPathComponent("model").path, root.appendingPathComponent("in").path])
        #expect(result.status == 1)
        #expect(try Self.records(result.stdout).count == 2)
        #expect(result.stderr.contains("nothing could be scored"))
    }

    @Test("a card without calibration is a clear fatal error, exit 1")
    func noCalibration() throws {
        let root = try Self.workspace(inputs: [Self.good[0]]) { $0["calibration"] = NSNull() }
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try Self.histoae(["score", "--model", root.appendingPathComponent("model").path, root.appendingPathComponent("in").path])
        #expect(result.status == 1 && result.stdout.isEmpty)
        #expect(result.stderr.contains("no calibration block"), "\(result.stderr)")
    }

    @Test("an unknown method is a usage error, exit 64")
    func unknownMethod() throws {
        let result = try Self.histoae(["score", "--model", "/nonexistent", "--method", "psychic", "x.png"])
        #expect(result.status == 64 && result.stderr.contains("--method must be one of"))
    }
}
