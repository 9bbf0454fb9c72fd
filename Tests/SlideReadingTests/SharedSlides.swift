import Foundation
import Testing

/// The slides under `../shared/data/slides`, next to the repository (outside it: models/README.md lists their
/// sources and licences). Tests that need them are skipped, with this reason, when the folder is absent.
enum SharedSlides {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/slides")
    static let cmu = folder.appendingPathComponent("cmu-1-small-region.svs").path
    static let tcga = folder.appendingPathComponent("tcga-cr-7395-01a-01-ts1.svs").path
    static let broken = folder.appendingPathComponent("broken.svs").path

    static let available = [cmu, tcga, broken].allSatisfy { FileManager.default.fileExists(atPath: $0) }
    static let skipReason: Comment = "../shared/data/slides (cmu-1-small-region.svs, tcga-cr-7395-01a-01-ts1.svs, broken.svs) is absent"

    /// A fresh temporary folder for files a test writes.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("slide-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
