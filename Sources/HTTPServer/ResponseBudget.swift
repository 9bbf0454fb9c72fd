import AutoencoderModel
import InferenceService
import Scoring

/// The most bytes one JSON answer may take (``ServerConfiguration/maxResponseBytes``), checked from the patch
/// count before any work: `?maps=array` on 256 patches would otherwise build about 180 MB of JSON (and the
/// encoder's copies of it) for one request.
///
/// Each patch is charged its worst case, so no answer that passes can exceed the limit:
/// ```swift
/// try ResponseBudget(limit: 64 << 20).check(patches: 100, query: query, detail: .full)  // 413 for maps=array
/// ```
struct ResponseBudget {
    let limit: Int

    /// Score fields, statistics and a filename (bounded by a multipart part's 8 KiB header section, JSON-escaped).
    static let scoreBytes = 24 * 1024
    /// A base64 PNG of a 150×150 RGB picture at its incompressible worst (raw rows + zlib and PNG framing).
    static let pictureBytes = (CNNAutoencoder3.inputSize * (CNNAutoencoder3.inputSize * 3 + 1) + 2048) * 4 / 3 + 4
    /// The maps of `maps=`: squared error, SSIM and stain residual.
    static let mapCount = 3
    /// Three `(150, 150)` float arrays, up to 16 characters a value (`-1.2345678e-05,`).
    static let arrayMapsBytes = mapCount * CNNAutoencoder3.inputSize * CNNAutoencoder3.inputSize * 16

    /// The worst case of an `Accept: image/png` answer: one 150 × 150 picture, or the panel (five tiles at ×2
    /// with titles and colour bars), as incompressible raw rows plus PNG framing.
    static func pngAnswerBytes(_ picture: PatchQuery.Picture) -> Int {
        guard picture == .panel else { return pictureBytes * 3 / 4 }
        let panel = Panel.size(width: CNNAutoencoder3.inputSize, height: CNNAutoencoder3.inputSize)
        return panel.height * (panel.width * 3 + 1) + 4096
    }

    /// The worst-case bytes of one patch in the answer `query` and `detail` ask for.
    static func bytesPerPatch(query: PatchQuery, detail: OutputDetail) -> Int {
        guard detail == .full else { return scoreBytes }
        let reconstruction = query.reconstruction ? pictureBytes : 0
        let maps = switch query.maps {
        case .png: mapCount * pictureBytes
        case .array: arrayMapsBytes
        case .none: 0
        }
        return scoreBytes + reconstruction + maps
    }

    /// The most patches one request may carry for this answer.
    func maxPatches(query: PatchQuery, detail: OutputDetail) -> Int {
        limit / Self.bytesPerPatch(query: query, detail: detail)
    }

    /// - Throws: 413 naming the limit and the most patches this kind of answer allows.
    func check(patches: Int, query: PatchQuery, detail: OutputDetail) throws {
        let allowed = maxPatches(query: query, detail: detail)
        guard patches > allowed else { return }
        let kind = detail == .score ? "scores" : "maps=\(query.maps.rawValue)\(query.reconstruction ? " with reconstructions" : "")"
        throw Problem(.contentTooLarge,
                      "an answer with \(kind) for \(patches) patches could exceed this server's response limit of \(limit) bytes; send at most \(allowed) patches per request for this answer (maps=png or reconstruction=false allow more)",
                      extra: ["limit_bytes": .int(limit), "max_patches": .int(allowed)])
    }
}
