import AutoencoderModel
import Foundation
import Scoring

/// `tiles.csv` (or `tiles.tsv`): a header, then one row per scanned tile in the grid's reading order — where the
/// tile lies (level-0 pixels), then the same columns, with the same names, as `histoae score --format csv`:
/// every statistic, the score and its threshold, the verdict, the flags, each signal's deviation, the
/// calibration, the model and the precision it ran in. One word means one thing in both tables.
///
/// | column | meaning |
/// |---|---|
/// | `tile` | the tile's index in reading order (row by row) |
/// | `x`, `y` | level-0 pixel of the tile's top-left corner |
/// | `width`, `height` | the tile's size in level-0 pixels |
/// | `column`, `row` | the tile's place in the grid |
/// | `mask_tissue` | fraction of the tile the thumbnail's tissue mask calls tissue (what `--min-tissue` tests) |
/// | `mse` … `model_sha256` | as in `histoae score --format csv` (``scoreColumns``) |
/// | `precision` | `fp32` or `bf16`: the arithmetic the model ran in (``ScanContext/precision``), as there |
///
/// ```swift
/// let table = try TileTableWriter(folder: folder, format: .csv, precision: engine.precision)   // writes the header
/// try table.write(scannedTile)
/// try table.commit()
/// ```
final class TileTableWriter {
    typealias Column = (name: String, field: @Sendable (PatchScore) -> String)

    /// The columns that describe the tile itself.
    static let tileColumns = ["tile", "x", "y", "width", "height", "column", "row", "mask_tissue"]

    /// The score's columns, in `histoae score --format csv`'s order and words (after its `path` and `error`).
    static let scoreColumns: [Column] = statisticColumns + verdictColumns + signalColumns + identityColumns

    private static let statisticColumns: [Column] =
        Statistic.allCases.map { statistic in column(statistic.rawValue) { "\($0.statistics[statistic])" } }
    private static let verdictColumns: [Column] = [
        column("method") { $0.method.rawValue }, column("score") { "\($0.score)" },
        column("threshold") { "\($0.threshold)" }, column("fpr") { "\($0.fpr)" },
        column("threshold_source") { $0.thresholdSource.rawValue }, column("anomalous") { "\($0.anomalous)" },
        column("verdict") { $0.verdict.rawValue }, column("percentile") { "\($0.percentile)" },
        column("score_statistic") { $0.scoreStatistic.rawValue }, column("deviation") { "\($0.deviation)" },
        column("flags") { $0.flags.map(\.rawValue).joined(separator: ";") },
    ]
    private static let signalColumns: [Column] =
        ArtefactSignal.allCases.map { signal in column("\(signal.rawValue)_deviation") { "\($0.signals[signal].deviation)" } }
    private static let identityColumns: [Column] = [
        column("calibration_source") { $0.calibration.source },
        column("calibration_patches") { "\($0.calibration.patches)" },
        column("model_name") { $0.model.name }, column("model_version") { $0.model.version },
        column("model_sha256") { $0.model.weightsSHA256 },
    ]

    private static func column(_ name: String, _ field: @escaping @Sendable (PatchScore) -> String) -> Column {
        (name, field)
    }

    /// The last column, after the score's: not a field of a score but of the engine that computed them all.
    static let precisionColumn = "precision"

    static var header: [String] { tileColumns + scoreColumns.map(\.name) + [precisionColumn] }

    let format: TileTableFormat
    /// Every row's `precision`.
    let precision: ModelPrecision
    private let file: OutputFile

    init(folder: URL, format: TileTableFormat, precision: ModelPrecision) throws(SlideScanError) {
        self.format = format
        self.precision = precision
        file = try OutputFile(folder.appendingPathComponent(format.fileName))
        try file.write(line(Self.header))
    }

    var url: URL { file.url }

    func write(_ scanned: ScannedTile) throws(SlideScanError) {
        let tile = scanned.tile
        let place = [tile.index, scanned.x, scanned.y, scanned.side, scanned.side, tile.column, tile.row].map(String.init)
        let score = Self.scoreColumns.map { $0.field(scanned.score) }
        try file.write(line(place + ["\(tile.tissue)"] + score + [precision.rawValue]))
    }

    func commit() throws(SlideScanError) { try file.commit() }
    func discard() { file.discard() }

    private func line(_ fields: [String]) -> String {
        fields.map(escaped).joined(separator: String(format.separator)) + "\n"
    }

    /// CSV: quoted when needed (RFC 4180). TSV has no quoting: tabs and line breaks become spaces.
    private func escaped(_ field: String) -> String {
        switch format {
        case .csv:
            field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline })
                ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        case .tsv:
            String(field.map { $0 == "\t" || $0.isNewline ? " " : $0 })
        }
    }
}
