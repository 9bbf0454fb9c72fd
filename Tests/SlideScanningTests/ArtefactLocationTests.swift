import Foundation
import Testing
@testable import SlideScanning

/// Must-show 2: a slide of known layout — real normal skin, pen marks, glass — is scanned with the default model
/// and the flagged tiles sit where the artefacts are, in level-0 pixels.
@Suite("Scanning a slide of known layout flags the artefacts where they are", .enabled(if: ScanFixtures.available, ScanFixtures.skipReason))
struct ArtefactLocationTests {
    /// Whether a tile's corner lies within one tile (one cell) of a cell's corner, in level-0 pixels.
    static func near(_ x: Int, _ y: Int, _ place: (column: Int, row: Int), tile: Int) -> Bool {
        abs(x - place.column * LayoutSlide.level0Cell) <= tile && abs(y - place.row * LayoutSlide.level0Cell) <= tile
    }

    @Test("level 1 (0.499 µm/px) is read as is; tiles are 300 level-0 pixels on the cells' corners")
    func scale() async throws {
        let (summary, folder) = try await LayoutScan.result.value
        #expect(summary.slide.vendor == "generic-tiff" && summary.slide.mppSource == .given)
        #expect(summary.scan.level == 1 && !summary.scan.resized)
        #expect(summary.scan.tileSide == LayoutSlide.level0Cell)
        let rows = try LayoutScan.table(folder).rows
        for row in rows {
            let x = try #require(Int(row["x"]!)), y = try #require(Int(row["y"]!))
            #expect(x % LayoutSlide.level0Cell == 0 && y % LayoutSlide.level0Cell == 0)
        }
    }

    @Test("each artefact's tile is anomalous, every flagged tile is an artefact's, glass is not scanned or not_tissue, normal skin is normal")
    func verdictsByCell() async throws {
        let (summary, folder) = try await LayoutScan.result.value
        var verdicts: [String: String] = [:]   // "column,row" → verdict
        for row in try LayoutScan.table(folder).rows {
            let column = Int(row["x"]!)! / LayoutSlide.level0Cell, line = Int(row["y"]!)! / LayoutSlide.level0Cell
            verdicts["\(column),\(line)"] = row["verdict"]!
        }
        for place in LayoutSlide.artefacts {
            #expect(verdicts["\(place.column),\(place.row)"] == "anomalous", "artefact at \(place)")
        }
        for place in LayoutSlide.normals {
            #expect(verdicts["\(place.column),\(place.row)"] == "normal", "normal skin at \(place)")
        }
        for place in LayoutSlide.places({ $0 == .glass || $0 == .enclosedGlass }) {
            let verdict = verdicts["\(place.column),\(place.row)"]
            #expect(verdict == nil || verdict == "not_tissue", "glass at \(place): \(verdict ?? "not scanned")")
        }
        // The glass at the slide's edge is no tissue to the mask: not scanned at all.
        #expect(LayoutSlide.places { $0 == .glass }.allSatisfy { verdicts["\($0.column),\($0.row)"] == nil })
        #expect(summary.verdicts.anomalous == LayoutSlide.artefacts.count)
        #expect(summary.mostAnomalous.prefix(LayoutSlide.artefacts.count).allSatisfy { top in
            LayoutSlide.artefacts.contains { Self.near(top.x, top.y, $0, tile: 0) }
        })
    }

    @Test("with half-overlapping tiles (--stride 75), every flagged tile lies within one tile of an artefact")
    func overlapping() async throws {
        let folder = try ScanFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var settings = LayoutSlide.settings
        settings.stride = 75
        let (summary, out) = try await ScanFixtures.scan(try LayoutSlide.write(in: folder), settings: settings)
        let rows = try LayoutScan.table(out).rows
        #expect(rows.count == summary.tilesScanned && rows.count > 40)
        let side = summary.scan.tileSide
        let flagged = rows.filter { $0["verdict"] == "anomalous" }
        #expect(!flagged.isEmpty)
        for row in flagged {
            let x = Int(row["x"]!)!, y = Int(row["y"]!)!
            #expect(LayoutSlide.artefacts.contains { Self.near(x, y, $0, tile: side) }, "flagged tile at (\(x), \(y))")
        }
        for place in LayoutSlide.artefacts {
            let x = place.column * LayoutSlide.level0Cell, y = place.row * LayoutSlide.level0Cell
            #expect(rows.contains { Int($0["x"]!) == x && Int($0["y"]!) == y && $0["verdict"] == "anomalous" })
        }
    }
}
