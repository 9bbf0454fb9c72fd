import AutoencoderModel
import Foundation

/// The model folder `histoae calibrate` writes: the source card with a new `calibration` block and `version`
/// (every other key, its order and its numbers as they were), and the weights copied unchanged as
/// `model.safetensors`. Written into a temporary sibling folder and renamed into place at the end, so a failure
/// leaves nothing behind.
///
/// ```swift
/// let target = try CalibratedModelFolder(output: "models/site-b", modelFolder: bundle.weightsURL.deletingLastPathComponent())
/// try target.write(card: newCard, weights: bundle.weightsURL, sha256: bundle.weightsSHA256)
/// ```
struct CalibratedModelFolder {
    let url: URL

    static let weightsFile = "model.safetensors"
    static let cardFile = "model.json"

    /// Checks `output` before any work: it must not be the model's own folder, and if it exists it must be an
    /// empty folder.
    init(output: String, modelFolder: URL) throws {
        url = URL(fileURLWithPath: output).standardizedFileURL
        let manager = FileManager.default
        if url.resolvingSymlinksInPath().path == modelFolder.standardizedFileURL.resolvingSymlinksInPath().path {
            throw CLIError("\(output): is the model's own folder; write the calibrated model to a new folder")
        }
        var isFolder: ObjCBool = false
        guard manager.fileExists(atPath: url.path, isDirectory: &isFolder) else { return }
        guard isFolder.boolValue else { throw CLIError("\(output): exists and is not a folder") }
        let entries: [String]
        do { entries = try manager.contentsOfDirectory(atPath: url.path) } catch {
            throw CLIError("\(output): cannot read folder: \(error.localizedDescription)")
        }
        guard entries.isEmpty else {
            throw CLIError("\(output): folder exists and is not empty; give a new or empty folder")
        }
    }

    /// Writes `card` (JSON text) and a copy of `weights`, whose sha256 must still be `sha256` once copied (the
    /// card's hash, checked when the model was loaded).
    func write(card: String, weights: URL, sha256: String) throws {
        let manager = FileManager.default
        let parent = url.deletingLastPathComponent()
        do { try manager.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw CLIError("\(parent.path): cannot create folder: \(error.localizedDescription)")
        }
        let staging = parent.appendingPathComponent(".\(url.lastPathComponent).partial-\(UUID().uuidString)")
        do {
            try manager.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw CLIError("\(staging.path): cannot create folder: \(error.localizedDescription)")
        }
        var done = false
        defer { if !done { try? manager.removeItem(at: staging) } }
        let copied = staging.appendingPathComponent(Self.weightsFile)
        do {
            try manager.copyItem(at: weights, to: copied)
            try Data((card + "\n").utf8).write(to: staging.appendingPathComponent(Self.cardFile))
        } catch {
            throw CLIError("\(url.path): cannot write: \(error.localizedDescription)")
        }
        // The weights were hashed when loaded; a file replaced since then must not go out under this card.
        let digest: String
        do { digest = SHA256.hex(try Data(contentsOf: copied)) } catch {
            throw CLIError("\(copied.path): cannot read back: \(error.localizedDescription)")
        }
        guard digest == sha256.lowercased() else {
            throw CLIError("\(weights.path): changed while calibrating (sha256 \(digest), the card says \(sha256))")
        }
        // An empty output folder is replaced; rename(2) then moves the finished folder into place at once.
        if manager.fileExists(atPath: url.path) {
            do { try manager.removeItem(at: url) } catch {
                throw CLIError("\(url.path): cannot replace the empty folder: \(error.localizedDescription)")
            }
        }
        do { try manager.moveItem(at: staging, to: url) } catch {
            throw CLIError("\(url.path): cannot write: \(error.localizedDescription)")
        }
        done = true
    }
}
