import Foundation
import Scoring

/// `tiles.geojson`: a GeoJSON FeatureCollection (RFC 7946) that QuPath imports as detections (File › Import
/// objects, or drag and drop): one Polygon per scanned tile in **level-0 pixel** coordinates (QuPath's image
/// space; x right, y down), its ring closed (first corner repeated last), with
///
/// * `properties.objectType`: `"detection"`;
/// * `properties.name`: the verdict, and the flags when there are any (`"anomalous (stain, blur)"`);
/// * `properties.classification`: `{"name": <verdict>, "color": [r, g, b]}` (``color(of:)``);
/// * `properties.measurements`: numbers only — `score`, every statistic, each signal's deviation
///   (`<signal>_deviation`), each flag as 0/1 (`flag_<signal>`), `mask_tissue` and the tile's index.
///
/// The collection's own `properties` (a foreign member GeoJSON allows) name the slide, the coordinate space, the
/// model and the precision it ran in, the calibration, the method and the threshold. Features are streamed one at
/// a time: memory does not grow with the slide.
///
/// ```swift
/// let geojson = try TileGeoJSONWriter(folder: folder, context: context)
/// try geojson.write(scannedTile)
/// try geojson.commit()
/// ```
final class TileGeoJSONWriter {
    static let fileName = "tiles.geojson"
    private let file: OutputFile
    private var features = 0

    /// QuPath's class colours: green normal, red anomalous, grey not tissue.
    static func color(of verdict: Verdict) -> [Int] {
        switch verdict {
        case .normal: [60, 170, 80]
        case .anomalous: [220, 40, 40]
        case .notTissue: [150, 150, 150]
        }
    }

    init(folder: URL, context: ScanContext) throws(SlideScanError) {
        file = try OutputFile(folder.appendingPathComponent(Self.fileName))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let model = (try? encoder.encode(context.scorer.model)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        let calibration = (try? encoder.encode(CalibrationIdentity(source: context.scorer.calibration.source,
                                                                   patches: context.scorer.calibration.patches)))
            .map { String(decoding: $0, as: UTF8.self) } ?? "null"
        let plan = context.plan
        let properties = [
            ("generator", JSONText.string("histoae scan")),
            ("slide", JSONText.string(SlideScanError.name(plan.slide.path))),
            ("coordinates", JSONText.string("level-0 pixels, origin top-left, x right, y down")),
            ("width", "\(plan.slide.level0.width)"), ("height", "\(plan.slide.level0.height)"),
            ("slide_mpp", JSONText.number(plan.scan.slideMPP)), ("tile_side", "\(plan.grid.level0TileSide)"),
            ("model", model), ("precision", JSONText.string(context.precision.rawValue)), ("calibration", calibration),
            ("method", JSONText.string(context.scorer.method.rawValue)),
            ("threshold", JSONText.number(context.scorer.threshold)), ("fpr", JSONText.number(context.scorer.fpr)),
        ].map { "\(JSONText.string($0.0)):\($0.1)" }.joined(separator: ",")
        try file.write("{\"type\":\"FeatureCollection\",\"properties\":{\(properties)},\"features\":[\n")
    }

    var url: URL { file.url }

    func write(_ scanned: ScannedTile) throws(SlideScanError) {
        let score = scanned.score
        let x0 = scanned.x, y0 = scanned.y, x1 = scanned.x + scanned.side, y1 = scanned.y + scanned.side
        let ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)].map { "[\($0.0),\($0.1)]" }.joined(separator: ",")
        var measurements = [("score", JSONText.number(score.score))]
        measurements += Statistic.allCases.map { ($0.rawValue, JSONText.number(score.statistics[$0])) }
        measurements += ArtefactSignal.allCases.map { ("\($0.rawValue)_deviation", JSONText.number(score.signals[$0].deviation)) }
        measurements += ArtefactSignal.allCases.map { ("flag_\($0.rawValue)", score.flags.contains($0) ? "1" : "0") }
        measurements += [("mask_tissue", JSONText.number(scanned.tile.tissue)), ("tile", "\(scanned.tile.index)")]
        let name = score.flags.isEmpty ? score.verdict.rawValue
            : "\(score.verdict.rawValue) (\(score.flags.map(\.rawValue).joined(separator: ", ")))"
        let color = Self.color(of: score.verdict).map(String.init).joined(separator: ",")
        let feature = "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[\(ring)]]},"
            + "\"properties\":{\"objectType\":\"detection\",\"name\":\(JSONText.string(name)),"
            + "\"classification\":{\"name\":\(JSONText.string(score.verdict.rawValue)),\"color\":[\(color)]},"
            + "\"measurements\":{\(measurements.map { "\(JSONText.string($0.0)):\($0.1)" }.joined(separator: ","))}}}"
        try file.write((features == 0 ? "" : ",\n") + feature)
        features += 1
    }

    func commit() throws(SlideScanError) {
        try file.write("\n]}\n")
        try file.commit()
    }

    func discard() { file.discard() }
}
