import AutoencoderModel
import Foundation
import ImageCodecs
import InferenceService
import Scoring

/// One patch in a JSON answer: its position and name, every field of its ``PatchScore`` (flattened), and —
/// from `/v1/reconstruct` — the reconstruction and the error maps.
struct PatchReport: Encodable {
    let index: Int
    let name: String?
    let score: PatchScore
    /// PNG, base64.
    var reconstructionPNG: String?
    var maps: MapsReport?

    enum CodingKeys: String, CodingKey {
        case index, name, maps
        case reconstructionPNG = "reconstruction_png"
    }

    func encode(to encoder: Encoder) throws {
        try score.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(reconstructionPNG, forKey: .reconstructionPNG)
        try c.encodeIfPresent(maps, forKey: .maps)
    }
}

/// The error maps of one patch: viridis heatmap PNGs (base64) or the raw values, `(height, width)` row-major.
struct MapsReport: Encodable {
    let format: String
    let width: Int
    let height: Int
    /// `maps=png`: heatmaps of the squared error (square-root colour scale, 0 … 0.25), of 1 − SSIM (0 … 1) and
    /// of the stain residual (0 … 0.5 of a pixel's optical density off the H&E plane).
    var msePNG: String?
    var ssimPNG: String?
    var stainPNG: String?
    /// `maps=array`: per-pixel `mean_c (x − x̂)²` and SSIM, normalized space; the stain residual (0 … 1, a share of optical density).
    var mse: [Float]?
    var ssim: [Float]?
    var stain: [Float]?

    enum CodingKeys: String, CodingKey {
        case format, width, height, mse, ssim, stain
        case msePNG = "mse_png"
        case ssimPNG = "ssim_png"
        case stainPNG = "stain_png"
    }
}

/// The JSON body of both patch endpoints: the model, the patches, and the precision the model ran in
/// (``InferenceEngine/precision``: `"fp32"` or `"bf16"`), keys sorted.
struct PatchesResponse: Encodable {
    let model: ModelIdentity
    let patches: [PatchReport]
    let precision: ModelPrecision

    enum CodingKeys: String, CodingKey { case model, patches, precision }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(patches, forKey: .patches)
        try c.encode(precision.rawValue, forKey: .precision)
    }
}

/// Turns engine outcomes into response bodies. Pure functions of their inputs; the server runs them
/// on its codec threads.
enum ResponseRenderer {
    /// The JSON body, with sorted keys. Written patch by patch, and `maps=array` values written straight into
    /// the output, so the answer costs about its own size in memory: JSONEncoder on the whole response kept
    /// a tree of every value, about six times the answer (285 MB for 80 patches with array maps).
    static func json(_ response: PatchesResponse) throws -> [UInt8] {
        let encoder = makeEncoder()
        var out: [UInt8] = []
        out.reserveCapacity(response.patches.reduce(1024) {
            $0 + 4096 + 14 * (($1.maps?.mse?.count ?? 0) + ($1.maps?.ssim?.count ?? 0) + ($1.maps?.stain?.count ?? 0))
        })
        out += Array(#"{"model":"#.utf8)
        out += try encoder.encode(response.model)
        out += Array(#","patches":["#.utf8)
        for (index, report) in response.patches.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            try appendJSON(report, to: &out, encoder: encoder)
        }
        // After "patches", so the keys stay sorted; the raw values (`fp32`, `bf16`) need no escaping.
        out += Array(#"],"precision":"\#(response.precision.rawValue)"}"#.utf8)
        return out
    }

    /// One patch: a score-only report by ``PatchReportJSON``; otherwise JSONEncoder for every field but the map arrays, which are inserted after `"height":…,`
    /// of the `maps` object (keys stay sorted: format, height, mse, ssim, stain, width). `"maps":{` can only be
    /// that key: a quote inside any string value is escaped.
    static func appendJSON(_ report: PatchReport, to out: inout [UInt8], encoder: JSONEncoder) throws {
        guard let maps = report.maps, let mse = maps.mse, let ssim = maps.ssim, let stain = maps.stain else {
            if !PatchReportJSON.append(report, to: &out) { out += try encoder.encode(report) }
            return
        }
        var bare = report
        bare.maps?.mse = nil
        bare.maps?.ssim = nil
        bare.maps?.stain = nil
        let object = Array(try encoder.encode(bare))
        let marker = Array(#""maps":{"format":"array","height":\#(maps.height),"#.utf8)
        guard let start = object.firstRange(of: marker) else { throw EncodingError.invalidValue(report, .init(codingPath: [], debugDescription: "maps object not found")) }
        out += object[..<start.upperBound]
        out += Array(#""mse":"#.utf8)
        appendJSON(mse, to: &out)
        out += Array(#","ssim":"#.utf8)
        appendJSON(ssim, to: &out)
        out += Array(#","stain":"#.utf8)
        appendJSON(stain, to: &out)
        out.append(UInt8(ascii: ","))
        out += object[start.upperBound...]
    }

    /// `[v, …]` as JSONEncoder writes Floats: the shortest round-tripping decimal, no trailing `.0`, and the
    /// non-finite values as the strings ``makeEncoder()`` names.
    static func appendJSON(_ values: [Float], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            if value.isNaN {
                out += Array(#""NaN""#.utf8)
            } else if value.isInfinite {
                out += Array((value > 0 ? #""Infinity""# : #""-Infinity""#).utf8)
            } else {
                var text = value.description
                if text.hasSuffix(".0") { text.removeLast(2) }
                out += text.utf8
            }
        }
        out.append(UInt8(ascii: "]"))
    }

    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    /// Reports for `/v1/reconstruct`, with the pictures or arrays `query` asks for.
    static func reports(_ outcomes: [PatchOutcome], names: [String?], query: PatchQuery) throws -> [PatchReport] {
        try outcomes.enumerated().map { index, outcome in
            var report = PatchReport(index: index, name: names[index], score: try outcome.requireScore())
            guard let maps = outcome.maps, let reconstruction = outcome.reconstruction else { return report }
            if query.reconstruction {
                report.reconstructionPNG = try base64(PNGEncoder.encode(image(reconstruction, maps)))
            }
            switch query.maps {
            case .none: break
            case .png:
                report.maps = MapsReport(format: "png", width: maps.width, height: maps.height,
                                         msePNG: try base64(Heatmap.png(.squaredError, maps: maps)),
                                         ssimPNG: try base64(Heatmap.png(.dissimilarity, maps: maps)),
                                         stainPNG: try base64(Heatmap.png(.stain, maps: maps)))
            case .array:
                report.maps = MapsReport(format: "array", width: maps.width, height: maps.height,
                                         mse: maps.squaredError.map { Float($0) }, ssim: maps.ssim.map { Float($0) },
                                         stain: maps.stain.map { Float($0) })
            }
            return report
        }
    }

    /// The single picture of an `Accept: image/png` answer.
    static func picture(_ outcome: PatchOutcome, input: RGBImage, name: String?, query: PatchQuery) throws -> [UInt8] {
        guard let maps = outcome.maps, let reconstruction = outcome.reconstruction else { return [] }
        switch query.picture {
        case .reconstruction: return try PNGEncoder.encode(image(reconstruction, maps))
        case .mse: return try Heatmap.png(.squaredError, maps: maps)
        case .ssim: return try Heatmap.png(.dissimilarity, maps: maps)
        case .stain: return try Heatmap.png(.stain, maps: maps)
        case .panel:
            return try Panel.png(name: name ?? "patch", input: input, reconstruction: image(reconstruction, maps),
                                 maps: maps, score: try outcome.requireScore())
        }
    }

    /// The reconstruction `(3, H, W)` in [−1, 1] as 8-bit RGB (docs/model.md §3, de-normalization).
    static func image(_ reconstruction: [Float], _ maps: ErrorMapSet) -> RGBImage {
        reconstruction.withUnsafeBufferPointer {
            Normalization.denormalize($0.baseAddress!, width: maps.width, height: maps.height)
        }
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
