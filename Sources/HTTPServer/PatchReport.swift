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
    /// `maps=png`: heatmaps of the squared error (square-root colour scale, 0 … 0.25) and of 1 − SSIM (0 … 1).
    var msePNG: String?
    var ssimPNG: String?
    /// `maps=array`: per-pixel `mean_c (x − x̂)²` and SSIM, normalized space.
    var mse: [Float]?
    var ssim: [Float]?

    enum CodingKeys: String, CodingKey {
        case format, width, height, mse, ssim
        case msePNG = "mse_png"
        case ssimPNG = "ssim_png"
    }
}

/// The JSON body of both patch endpoints.
struct PatchesResponse: Encodable {
    let model: ModelIdentity
    let patches: [PatchReport]
}

/// Turns scheduler outcomes into response bodies. Pure functions of their inputs; the server runs them
/// on its codec threads.
enum ResponseRenderer {
    static func json(_ response: PatchesResponse) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return try [UInt8](encoder.encode(response))
    }

    /// Reports for `/v1/reconstruct`, with the pictures or arrays `query` asks for.
    static func reports(_ outcomes: [PatchOutcome], names: [String?], query: PatchQuery) throws -> [PatchReport] {
        try outcomes.enumerated().map { index, outcome in
            var report = PatchReport(index: index, name: names[index], score: outcome.score)
            guard let maps = outcome.maps, let reconstruction = outcome.reconstruction else { return report }
            if query.reconstruction {
                report.reconstructionPNG = try base64(PNGEncoder.encode(image(reconstruction, maps)))
            }
            switch query.maps {
            case .none: break
            case .png:
                report.maps = MapsReport(format: "png", width: maps.width, height: maps.height,
                                         msePNG: try base64(Heatmap.png(.squaredError, maps: maps)),
                                         ssimPNG: try base64(Heatmap.png(.dissimilarity, maps: maps)))
            case .array:
                report.maps = MapsReport(format: "array", width: maps.width, height: maps.height,
                                         mse: maps.squaredError.map { Float($0) }, ssim: maps.ssim.map { Float($0) })
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
        case .panel:
            return try Panel.png(name: name ?? "patch", input: input, reconstruction: image(reconstruction, maps),
                                 maps: maps, score: outcome.score)
        }
    }

    /// The reconstruction `(3, H, W)` in [−1, 1] as 8-bit RGB (spec §11 inverted, rounded).
    static func image(_ reconstruction: [Float], _ maps: ErrorMapSet) -> RGBImage {
        reconstruction.withUnsafeBufferPointer {
            Normalization.denormalize($0.baseAddress!, width: maps.width, height: maps.height)
        }
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
