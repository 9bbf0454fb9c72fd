import AutoencoderModel
import Foundation
@testable import InferenceProtocol
import InferenceService
import Testing

/// Every inference response names, in its `parameters`, the precision its engine's model ran in: read from the
/// model, so a model loaded at bf16 answers `"bf16"` (and the REST JSON carries it as tritonclient reads it).
@Suite(.serialized) struct PrecisionParameterTests {
    /// bf16 runs on this CPU (AVX512-BF16 and the packed kernel); elsewhere it falls back to fp32.
    static let bf16Runs = ModelPrecision.bf16.runnable() == .bf16

    /// One scored patch through a service whose engine runs the default model loaded at `precision`.
    static func answer(at precision: ModelPrecision) async throws -> (OpenInferenceService, InferenceResponse) {
        let bundle = try ModelBundle.load(ProtocolFixtures.root.appendingPathComponent("models/default"), precision: precision)
        try #require(bundle.model.precision == precision)
        let engine = InferenceEngine(model: bundle.model, scorer: ProtocolFixtures.scorer,
                                     configuration: EngineConfiguration(workers: 1, blasThreads: 1, queueCapacity: 4))
        engine.start()
        let service = OpenInferenceService(engine: engine, scorer: ProtocolFixtures.scorer,
                                           limits: .init(maxPatches: 1, defaultDeadlineMilliseconds: 60_000))
        let response: InferenceResponse
        do {
            response = try await OpenInferenceServiceTests.infer(
                service, OpenInferenceServiceTests.request([try ProtocolFixtures.patch(0)], outputs: ["score"]))
        } catch {
            await engine.drain()
            throw error
        }
        await engine.drain()
        return (service, response)
    }

    /// The REST answer's JSON (before any binary tensor data) and its `parameters` object.
    static func restJSON(_ response: InferenceResponse) throws -> (json: [String: Any], parameters: [String: Any]?) {
        let (body, headerLength) = RESTResponseEncoding.inference(response)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body[..<(headerLength ?? body.count)])) as? [String: Any])
        return (json, json["parameters"] as? [String: Any])
    }

    @Test func fp32ModelAnswersFP32() async throws {
        let (service, response) = try await Self.answer(at: .fp32)
        #expect(service.signature.precision == .fp32)
        #expect(response.parameters == ["precision": .string("fp32")])
        #expect(try Self.restJSON(response).parameters?["precision"] as? String == "fp32")
    }

    @Test(.enabled(if: bf16Runs, "this CPU cannot run bf16 (no AVX512-BF16, or HISTOAE_GEMM=openblas): it would load fp32"))
    func bf16ModelAnswersBF16() async throws {
        let (service, response) = try await Self.answer(at: .bf16)
        #expect(service.signature.precision == .bf16)
        #expect(response.parameters == ["precision": .string("bf16")])
        #expect(try Self.restJSON(response).parameters?["precision"] as? String == "bf16")
    }

    @Test func restWritesResponseParametersOnlyWhenThereAreSome() throws {
        var response = RESTResponseEncodingTests.response
        #expect(try Self.restJSON(response).json["parameters"] == nil)
        response.parameters = ["precision": .string("bf16")]
        let (json, parameters) = try Self.restJSON(response)
        #expect(parameters?["precision"] as? String == "bf16")
        #expect(json["model_name"] as? String == "histoae" && (json["outputs"] as? [Any])?.count == 3)
    }
}
