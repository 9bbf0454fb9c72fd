import AutoencoderModel
import Foundation
import GRPCCore
@testable import InferenceGRPC
import InferenceProtocol
@testable import InferenceService
import Testing

/// `ModelInfer` answers name the precision the engine's model ran in, in the response's `parameters` (a
/// `string_param`, where tritonclient's `InferResult.get_response().parameters` reads it).
@Suite(.serialized) struct GRPCPrecisionTests {
    static let bf16Runs = ModelPrecision.bf16.runnable() == .bf16

    /// The `precision` parameter of one `ModelInfer` answer from an engine running the default model at `precision`.
    static func answeredPrecision(_ precision: ModelPrecision) async throws -> String? {
        let bundle = try ModelBundle.load(GRPCFixtures.root.appendingPathComponent("models/default"), precision: precision)
        try #require(bundle.model.precision == precision)
        let engine = InferenceEngine(model: bundle.model, scorer: GRPCFixtures.scorer,
                                     configuration: EngineConfiguration(workers: 1, blasThreads: 1, queueCapacity: 4))
        engine.start()
        let image = try GRPCFixtures.patch(0)
        let response = try await GRPCFixtures.withEndpoint(engine: engine) { stub, _ in
            try await stub.modelInfer(GRPCFixtures.rawImageRequest([image], outputs: ["score"]))
        }
        return response.parameters["precision"]?.stringParam
    }

    @Test func fp32ModelAnswersFP32() async throws {
        #expect(try await Self.answeredPrecision(.fp32) == "fp32")
    }

    @Test(.enabled(if: bf16Runs, "this CPU cannot run bf16 (no AVX512-BF16, or HISTOAE_GEMM=openblas): it would load fp32"))
    func bf16ModelAnswersBF16() async throws {
        #expect(try await Self.answeredPrecision(.bf16) == "bf16")
    }
}
