import AutoencoderModel
import Foundation
@testable import HTTPServer
import Scoring
import Testing

/// The hand-assembled JSON answer is the bytes JSONEncoder wrote for the whole response before, at a
/// fraction of the memory.
struct ResponseJSONTests {
    static let card = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../models/default/model.json").standardized

    func report(index: Int, name: String?, maps: MapsReport?) throws -> PatchReport {
        let scorer = try PatchScorer(card: try ModelCard(contentsOf: Self.card))
        let statistics = PatchStatistics { _ in 0.01 * Double(index + 1) }
        var report = PatchReport(index: index, name: name, score: try scorer.score(statistics))
        report.reconstructionPNG = "iVBORw0KGgo="
        report.maps = maps
        return report
    }

    @Test func arrayMapsMatchJSONEncoderByteForByte() throws {
        let values: [Float] = [0, -0.0, 1, -1, 0.1, 1e-5, -1.2345678e-05, 3.4028235e38, 1.17549435e-38, 1e-45,
                               0.3333333, 123456.79, .nan, .infinity, -.infinity]
        let arrays = MapsReport(format: "array", width: 5, height: 3, mse: values, ssim: values.reversed(),
                                stain: values.map { -$0 })
        let pictures = MapsReport(format: "png", width: 150, height: 150, msePNG: "AAAA", ssimPNG: "BBBB", stainPNG: "CCCC")
        let response = PatchesResponse(model: ModelIdentity(name: "m", version: "1", weightsSHA256: String(repeating: "a", count: 64)),
                                       patches: [try report(index: 0, name: #"a "maps":{"format":"array","height":3, \.png"#, maps: arrays),
                                                 try report(index: 1, name: nil, maps: pictures),
                                                 try report(index: 2, name: "c.png", maps: nil),
                                                 try report(index: 3, name: nil, maps: arrays)],
                                       precision: .bf16)
        let expected = Array(try ResponseRenderer.makeEncoder().encode(response))
        let written = try ResponseRenderer.json(response)
        #expect(written == expected, "\(String(decoding: written, as: UTF8.self))\n≠\n\(String(decoding: expected, as: UTF8.self))")
        let json = try JSONSerialization.jsonObject(with: Data(written)) as? [String: Any]
        #expect(json?["precision"] as? String == "bf16")
    }

    /// The server's engine and its Open Inference service run the bundle's model: what `/v1` (`precision`, the
    /// `HistoAE-Precision` header) and `/v2` (`parameters.precision`) report is the precision the model loaded at.
    @Test(.enabled(if: ModelPrecision.bf16.runnable() == .bf16,
                   "this CPU cannot run bf16 (no AVX512-BF16, or HISTOAE_GEMM=openblas): it would load fp32"))
    func serverReportsTheBundlesPrecision() throws {
        let folder = Self.card.deletingLastPathComponent()
        for precision in [ModelPrecision.bf16, .fp32] {
            let server = try HistoAEServer(bundle: try ModelBundle.load(folder, precision: precision),
                                           configuration: ServerConfiguration())
            #expect(server.engine.precision == precision && server.inference.signature.precision == precision)
        }
    }
}
