import Foundation
import ImageCodecs
import SlideReading
import SlideScanning

/// A pyramidal tiled TIFF of real H&E with a known layout, written by the test (``TiledTIFFWriter``): 6 × 4 cells
/// of 150 × 150 pixels at the model's scale (level 1, 0.499 µm/px), each filled with one real crop:
///
/// ```
///        col 0  1  2  3  4  5
/// row 0      G  N  N  N  N  .        N  normal skin (crops of cmu-1-small-region.svs's tissue)
/// row 1      N  N  N  R  N  .        G  green pen on glass, R  red pen (histolab fixtures)
/// row 2      N  N  o  N  N  .        P  green pen over tissue (histolab fixture)
/// row 3      N  P  N  N  N  .        .  glass at the slide's edge; o  glass enclosed by tissue
/// ```
///
/// Level 0 (0.2495 µm/px) is level 1 with every pixel doubled, level 2 its 2 × 2 mean: a scan reads level 1 as
/// is, and a cell (column c, row r) lies at level-0 pixels (300c, 300r) … (300c + 300, 300r + 300). OpenSlide
/// 3.4.1's generic-tiff reader reports no µm/px from the TIFF's resolution tags, so scans give it (``settings``),
/// as `--slide-mpp` does.
enum LayoutSlide {
    enum Cell: Character { case normal = "N", greenPen = "G", redPen = "R", penOnTissue = "P", glass = ".", enclosedGlass = "o" }

    static let rows: [String] = ["GNNNN.", "NNNRN.", "NNoNN.", "NPNNN."]
    static let cell = 150, columns = 6, level0MPP = 0.2495
    /// Level-0 pixels per cell.
    static let level0Cell = 2 * cell

    /// Scan settings with the slide's µm/px.
    static var settings: ScanSettings {
        var settings = ScanSettings()
        settings.slideMPP = level0MPP
        return settings
    }

    static func cell(column: Int, row: Int) -> Cell { Cell(rawValue: Array(rows[row])[column])! }

    static var artefacts: [(column: Int, row: Int)] { places { [.greenPen, .redPen, .penOnTissue].contains($0) } }
    static var normals: [(column: Int, row: Int)] { places { $0 == .normal } }

    static func places(_ test: (Cell) -> Bool) -> [(column: Int, row: Int)] {
        (0..<rows.count).flatMap { row in (0..<columns).filter { test(cell(column: $0, row: row)) }.map { ($0, row) } }
    }

    /// Level-0 corners of cmu-1-small-region.svs crops of ordinary skin (epidermis and dermis, away from the ink
    /// at its edges), used in reading order for the normal cells.
    static let normalCrops = [(1350, 900), (1200, 600), (1200, 2250), (1200, 900), (1200, 750), (1350, 750),
                              (1050, 2250), (1200, 1800), (1050, 1800), (1050, 750), (1050, 900), (1050, 2100),
                              (1200, 2100), (1200, 1200), (1200, 1050), (1350, 1800)]
    /// Glass of the same slide (its left margin).
    static let glassCrops = [(150, 1500), (150, 1650), (150, 1800), (150, 1950), (150, 2100)]

    /// Writes the slide to `folder/layout.tiff`; its path.
    static func write(in folder: URL) throws -> String {
        let cmu = try Slide(path: ScanFixtures.cmu)
        var normal = normalCrops.makeIterator(), glass = glassCrops.makeIterator()
        let width = columns * cell, height = rows.count * cell
        var level1 = [UInt8](repeating: 0, count: width * height * 3)
        for row in 0..<rows.count {
            for column in 0..<columns {
                let crop: RGBImage
                switch cell(column: column, row: row) {
                case .normal:
                    let (x, y) = normal.next()!
                    crop = try cmu.read(region: SlideRegion(x: x, y: y, width: cell, height: cell), level: 0)
                case .glass, .enclosedGlass:
                    let (x, y) = glass.next()!
                    crop = try cmu.read(region: SlideRegion(x: x, y: y, width: cell, height: cell), level: 0)
                case .greenPen: crop = try ScanFixtures.histolabCrop("no-tissue-green-pen.png", x: 200, y: 250)
                case .redPen: crop = try ScanFixtures.histolabCrop("no-tissue-red-pen.png", x: 250, y: 150)
                case .penOnTissue:
                    crop = try ScanFixtures.histolabCrop("medium-nuclei-score-green-pen-level1.png", x: 200, y: 30)
                }
                for y in 0..<cell {
                    let to = ((row * cell + y) * width + column * cell) * 3
                    level1.replaceSubrange(to..<to + cell * 3, with: crop.pixels[y * cell * 3..<(y + 1) * cell * 3])
                }
            }
        }
        let levels = [
            level(resampling: level1, width: width, height: height, factor: 2, mpp: level0MPP),
            TiledTIFFWriter.Level(width: width, height: height, rgb: level1,
                                  pixelsPerCentimetre: 10_000 / (level0MPP * 2)),
            level(resampling: level1, width: width, height: height, factor: -2, mpp: level0MPP * 4),
        ]
        let url = folder.appendingPathComponent("layout.tiff")
        try Data(TiledTIFFWriter.encode(levels, tile: 128)).write(to: url)
        return url.path
    }

    /// Level 1 enlarged (`factor` 2: each pixel doubled) or reduced (`factor` −2: 2 × 2 means).
    private static func level(resampling rgb: [UInt8], width: Int, height: Int, factor: Int, mpp: Double)
        -> TiledTIFFWriter.Level {
        let w = factor > 0 ? width * factor : width / -factor, h = factor > 0 ? height * factor : height / -factor
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                for channel in 0..<3 {
                    if factor > 0 {
                        out[(y * w + x) * 3 + channel] = rgb[((y / factor) * width + x / factor) * 3 + channel]
                    } else {
                        let n = -factor
                        var sum = 0
                        for dy in 0..<n { for dx in 0..<n { sum += Int(rgb[((y * n + dy) * width + x * n + dx) * 3 + channel]) } }
                        out[(y * w + x) * 3 + channel] = UInt8((sum + n * n / 2) / (n * n))
                    }
                }
            }
        }
        return TiledTIFFWriter.Level(width: w, height: h, rgb: out, pixelsPerCentimetre: 10_000 / mpp)
    }
}
