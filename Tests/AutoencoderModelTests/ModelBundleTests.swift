import Foundation
import Testing
@testable import AutoencoderModel

@Suite("Model bundles: weights + card")
struct ModelBundleTests {
    @Test("SHA-256 known answers", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (String(repeating: "a", count: 1000), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"),
    ])
    func sha256(_ input: String, _ digest: String) {
        #expect(SHA256.hex(Data(input.utf8)) == digest)
    }

    static func folder(card: (String) -> String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let weights = try Data(contentsOf: ParityFixtures.weightsURL)
        try weights.write(to: folder.appendingPathComponent("model.safetensors"))
        try Data(card(SHA256.hex(weights)).utf8).write(to: folder.appendingPathComponent("model.json"))
        return folder
    }

    @Test("a folder with matching weights and card loads, card and hash attached")
    func loadsFolder() throws {
        let folder = try Self.folder { """
            {"name": "fixture", "version": "1.2.3", "weights": {"file": "model.safetensors", "sha256": "\($0)"},
             "validation": {"split": "test", "patches": 4, "mse": 0.01, "l1": 0.05, "ssim": 0.9}, "calibration": {"patches": 4}}
            """ }
        defer { try? FileManager.default.removeItem(at: folder) }
        let bundle = try ModelBundle.load(folder)
        #expect(bundle.card?.name == "fixture" && bundle.card?.version == "1.2.3")
        #expect(bundle.card?.hasCalibration == true && bundle.card?.validation?.ssim == 0.9)
        #expect(bundle.weightsSHA256 == bundle.card?.weights.sha256)
    }

    @Test("weights that do not match the card's sha256 are refused")
    func hashMismatch() throws {
        let folder = try Self.folder { _ in
            #"{"name": "x", "version": "1", "weights": {"file": "model.safetensors", "sha256": "00ff"}}"#
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect { try ModelBundle.load(folder) } throws: { "\($0)".contains("do not match their model card") }
    }

    @Test("weights are hashed before they are parsed: a mismatch is refused without reaching the parser")
    func hashBeforeParse() throws {
        let folder = try Self.folder { #"{"name": "x", "version": "1", "weights": {"file": "model.safetensors", "sha256": "\#($0)"}}"# }
        defer { try? FileManager.default.removeItem(at: folder) }
        // Not safetensors at all: parsed first, this was a "not a valid safetensors file" error.
        let garbage = Data("this is not a weight file".utf8)
        try garbage.write(to: folder.appendingPathComponent("model.safetensors"))
        do {
            _ = try ModelBundle.load(folder)
            Issue.record("garbage weights loaded")
        } catch .card(.weightsMismatch(_, _, let found)) {
            #expect(found == SHA256.hex(garbage))
        } catch {
            Issue.record("expected the card's sha256 to refuse the weights first, got: \(error)")
        }
    }

    @Test("a malformed card names what is wrong")
    func malformedCard() throws {
        let folder = try Self.folder { _ in #"{"name": "x", "weights": {}}"# }
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect { try ModelBundle.load(folder) } throws: { "\($0)".contains("missing") }
    }

    @Test("HISTOAE_MODEL and an explicit path take precedence over the default")
    func locator() {
        #expect(ModelLocator.resolve("/a/b")?.path == "/a/b")
        #expect(ModelLocator.resolve(nil, environment: ["HISTOAE_MODEL": "/c"])?.path == "/c")
    }
}
