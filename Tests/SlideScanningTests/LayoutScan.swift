import Foundation
@testable import SlideScanning

/// The layout slide (``LayoutSlide``) scanned once with the default settings, shared by the suites that read its
/// outputs; and its parsed table.
enum LayoutScan {
    static let result = Task { () throws -> (summary: ScanSummary, folder: URL) in
        let folder = try ScanFixtures.temporaryFolder()
        let slide = try LayoutSlide.write(in: folder)
        defer { try? FileManager.default.removeItem(atPath: slide) }   // 9 MB; the small outputs stay for the tests
        return try await ScanFixtures.scan(slide, settings: LayoutSlide.settings)
    }

    /// `tiles.csv` as a header and rows of fields (the table holds no quoted fields but the calibration source,
    /// which this parser handles: RFC 4180 quoting).
    static func table(_ folder: URL, name: String = "tiles.csv", separator: Character = ",") throws
        -> (header: [String], rows: [[String: String]]) {
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        var records: [[String]] = [], fields: [String] = [], field = "", quoted = false
        var characters = text.makeIterator()
        while let c = characters.next() {
            if quoted {
                if c == "\"" {
                    if let next = characters.next() {
                        if next == "\"" { field.append("\"") } else {
                            quoted = false
                            if next == separator { fields.append(field); field = "" }
                            else if next.isNewline { fields.append(field); records.append(fields); fields = []; field = "" }
                            else { field.append(next) }
                        }
                    } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == separator {
                fields.append(field); field = ""
            } else if c.isNewline {
                fields.append(field); records.append(fields); fields = []; field = ""
            } else {
                field.append(c)
            }
        }
        let header = records.first ?? []
        let rows = records.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
        return (header, rows)
    }
}
