import Foundation
@testable import HTTPServer
import Testing

/// `openapi.yaml` is the contract: the embedded copy is current, and the routes are exactly its paths.
struct OpenAPIDocumentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func embeddedDocumentMatchesTheRepositoryFile() throws {
        let file = try String(contentsOf: Self.root.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        #expect(OpenAPIDocument.yaml + "\n" == file, "run scripts/embed-openapi.sh")
    }

    @Test func routesAreTheDocumentsPathsAndMethods() throws {
        // Paths are the top-level keys under `paths:` (two-space indent), methods the keys under them.
        var documented: [String: Set<String>] = [:]
        var current: String?
        var inPaths = false
        for line in OpenAPIDocument.yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths && !line.hasPrefix(" ") && !line.isEmpty { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /") { current = String(line.dropFirst(2).dropLast()); documented[current!] = [] }
            else if let current, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                documented[current]!.insert(line.trimmingCharacters(in: .whitespaces).dropLast().uppercased())
            }
        }
        let routed = HistoAEServer.routes.mapValues { Set($0.map(\.rawValue)) }
        #expect(documented == routed)
    }
}
