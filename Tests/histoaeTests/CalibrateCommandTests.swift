import Foundation
import ImageCodecs
import Testing

/// `histoae calibrate` end to end on the tiny calibrated fixture model (ScoreCommandTests' workspace): the
/// minimum patch count, per-file decode failures, the folder it writes (which `histoae score` then uses) and the
/// outputs it refuses to touch.
@Suite("histoae calibrate")
struct CalibrateCommandTests {
    typealias Score = ScoreCommandTests

    /// `count` distinct normal patches: the two fixture patches under the 8 rotations/flips and 4 circular
    /// shifts (64 in all), written as PNGs into `folder`.
    static func patches(_ count: Int, into folder: URL) throws {
        var written = 0
        outer: for name in ["patch0.png", "patch1.png"] {
            let image = try ImageDecoder.decode([UInt8](Data(contentsOf: Score.scoringFixtures.appendingPathComponent(name))))
            for transform in 0..<8 {
                for shift in [0, 37, 75, 112] {
                    guard written < count else { break outer }
                    let variant = Self.variant(image, transform: transform, shift: shift)
                    try Data(PNGEncoder.encode(variant)).write(to: folder.appendingPathComponent(String(format: "n%03d.png", written)))
                    written += 1
                }
            }
        }
        precondition(written == count, "at most 64 variants")
    }

    /// Rotation by `transform % 4` quarter turns, mirrored when `transform ≥ 4`, rolled `shift` pixels right.
    static func variant(_ image: RGBImage, transform: Int, shift: Int) -> RGBImage {
        let n = image.width
        var pixels = [UInt8](repeating: 0, count: image.pixels.count)
        for y in 0..<n {
            for x in 0..<n {
                var (sx, sy) = ((x + n - shift) % n, y)
                if transform >= 4 { sx = n - 1 - sx }
                for _ in 0..<(transform % 4) { (sx, sy) = (sy, n - 1 - sx) }
                for c in 0..<3 { pixels[3 * (y * n + x) + c] = image.pixels[3 * (sy * n + sx) + c] }
            }
        }
        return RGBImage(width: n, height: n, pixels: pixels)
    }

    static func card(_ folder: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("model.json"))) as! [String: Any]
    }

    @Test("49 usable patches: one line naming the minimum, exit 1, nothing written; bad files are one line each")
    func tooFewPatches() throws {
        let root = try Score.workspace(inputs: Score.bad)
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.patches(49, into: root.appendingPathComponent("in"))
        let output = root.appendingPathComponent("calibrated")
        let result = try Score.histoae(["calibrate", "--model", root.appendingPathComponent("model").path, "--source", "x",
                                        "--output", output.path, root.appendingPathComponent("in").path])
        #expect(result.status == 1 && result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 3, "\(result.stderr)")
        #expect(lines.filter { $0.contains("bad_crc.png") && $0.contains("skipped") }.count == 1)
        #expect(lines.filter { $0.contains("kather_patch.jpg") && $0.contains("expected 150×150") }.count == 1)
        #expect(lines.last?.contains("at least 50 patches, got 49") == true, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test("64 patches: a model folder with the new block and version, the same weights, that score then uses")
    func writesAModelFolder() throws {
        let root = try Score.workspace(inputs: [Score.bad[1]])
        defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("in"), model = root.appendingPathComponent("model")
        try Self.patches(64, into: input)
        let output = root.appendingPathComponent("site/calibrated")
        let result = try Score.histoae(["calibrate", "--model", model.path, "--source", "site B, 64 fixture variants",
                                        "--output", output.path, "--workers", "2", input.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains("bad_crc.png"), "\(result.stderr)")
        for text in ["0.0.0-test → 0.0.0+cal.", "calibrated on 64 patches (1 of 65 inputs skipped)", "stain plane: normal [",
                     "expected false-positive rate at the default threshold 0.99", "high_error", "stain", "blur", "background"] {
            #expect(result.stdout.contains(text), "\(text)\n\(result.stdout)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).sorted() == ["model.json", "model.safetensors"])
        #expect(try Data(contentsOf: output.appendingPathComponent("model.safetensors"))
                == Data(contentsOf: model.appendingPathComponent("model.safetensors")))
        var old = try Self.card(model), new = try Self.card(output)
        let version = try #require(new["version"] as? String)
        #expect(version.wholeMatch(of: /0\.0\.0\+cal\.[0-9a-f]{8}/) != nil, "\(version)")
        let block = try #require(new["calibration"] as? [String: Any])
        #expect(block["source"] as? String == "site B, 64 fixture variants" && block["patches"] as? Int == 64)
        #expect((block["methods"] as? [String: Any])?.count == 5 && (block["statistics"] as? [String: Any])?.count == 8)
        #expect((old["calibration"] as? [String: Any])?["patches"] as? Int == 72)
        for key in ["version", "calibration"] { old[key] = nil; new[key] = nil }
        #expect(NSDictionary(dictionary: old).isEqual(to: new), "every other key unchanged")

        let patch = input.appendingPathComponent("n000.png").path
        let before = try Score.records(Score.histoae(["score", "--model", model.path, patch]).stdout)[0]
        let scored = try Score.histoae(["score", "--model", output.path, patch])
        #expect(scored.status == 0, "\(scored.stderr)")
        let after = try Score.records(scored.stdout)[0]
        #expect((after["model"] as? [String: String])?["version"] == version)
        #expect((after["calibration"] as? [String: Any])?["patches"] as? Int == 64)
        #expect(after["statistics"] as? [String: Double] != before["statistics"] as? [String: Double],
                "stain_p99 is measured against the new stain plane")
        #expect(after["score"] as? Double != before["score"] as? Double)
    }

    @Test("--version sets the new version; a non-semantic one is a usage error")
    func explicitVersion() throws {
        let root = try Score.workspace(inputs: [])
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.patches(50, into: root.appendingPathComponent("in"))
        let output = root.appendingPathComponent("out")
        let arguments = ["calibrate", "--model", root.appendingPathComponent("model").path, "--source", "s",
                         "--output", output.path, root.appendingPathComponent("in").path]
        let bad = try Score.histoae(arguments + ["--version", "two"])
        #expect(bad.status == 64 && bad.stderr.contains("semantic version"), "\(bad.stderr)")
        let good = try Score.histoae(arguments + ["--version", "2.0.0-site.b"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(try Self.card(output)["version"] as? String == "2.0.0-site.b")
    }

    @Test("refuses a non-empty output folder and the model's own folder, before any work")
    func refusedOutputs() throws {
        let root = try Score.workspace(inputs: [])
        defer { try? FileManager.default.removeItem(at: root) }
        let model = root.appendingPathComponent("model")
        let cardBefore = try Data(contentsOf: model.appendingPathComponent("model.json"))
        let busy = root.appendingPathComponent("busy")
        try FileManager.default.createDirectory(at: busy, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: busy.appendingPathComponent("notes.txt"))
        for (output, message) in [(busy.path, "not empty"), (model.path, "model's own folder"),
                                  (model.path + "/", "model's own folder")] {
            let result = try Score.histoae(["calibrate", "--model", model.path, "--source", "s", "--output", output,
                                            root.appendingPathComponent("in").path])
            #expect(result.status == 1 && result.stderr.contains(message), "\(result.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: busy.path) == ["notes.txt"])
        #expect(try Data(contentsOf: model.appendingPathComponent("model.json")) == cardBefore)
    }
}
