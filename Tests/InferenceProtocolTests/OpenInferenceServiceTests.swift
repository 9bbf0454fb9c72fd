import AutoencoderModel
import Foundation
import ImageCodecs
@testable import InferenceProtocol
import InferenceService
import Scoring
import Testing

/// The shipped default model and two real H&E patches.
enum ProtocolFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let bundle: ModelBundle = try! ModelBundle.load(root.appendingPathComponent("models/default"))
    static let scorer: PatchScorer = try! PatchScorer(card: bundle.card!)

    static func patch(_ index: Int) throws -> RGBImage {
        try ImageDecoder.decode([UInt8](Data(contentsOf: root.appendingPathComponent("Tests/ScoringTests/Fixtures/patch\(index % 2).png"))))
    }

    static func service(maxPatches: Int = 8, maxResponseBytes: Int = 64 << 20) -> (OpenInferenceService, InferenceEngine) {
        let engine = InferenceEngine(model: bundle.model, scorer: scorer,
                                     configuration: EngineConfiguration(workers: 2, blasThreads: 1, queueCapacity: 16))
        engine.start()
        return (OpenInferenceService(engine: engine, scorer: scorer,
                                     limits: .init(maxPatches: maxPatches, defaultDeadlineMilliseconds: 60_000,
                                                   maxResponseBytes: maxResponseBytes)), engine)
    }
}

/// The protocol answers the bits `/v1` answers for the same patches: the engine's outcome, unchanged.
@Suite(.serialized) struct OpenInferenceServiceTests {
    static func infer(_ service: OpenInferenceService, _ request: InferenceRequest) async throws -> InferenceResponse {
        let plan = try service.plan(request, model: service.signature.name, version: nil)
        let outcome = try await service.run(plan, remainingMilliseconds: 60_000).get()
        return try service.response(plan, outcome: outcome)
    }

    static func request(_ images: [RGBImage], outputs: [String]? = nil, parameters: [String: ParameterValue] = [:]) -> InferenceRequest {
        let side = ModelSignature.side
        return InferenceRequest(id: "parity", inputs: [InputTensor(name: "image", datatype: "UINT8", shape: [images.count, side, side, 3],
                                                                  contents: .raw(images.flatMap(\.pixels)))],
                                outputs: outputs.map { $0.map { RequestedOutput(name: $0) } }, parameters: parameters)
    }

    @Test func everyOutputEqualsTheEnginesFullOutcome() async throws {
        let (service, engine) = ProtocolFixtures.service()
        let images = try [ProtocolFixtures.patch(0), ProtocolFixtures.patch(1)]
        let response = try await Self.infer(service, Self.request(images))
        let direct = try await engine.submit(images, detail: .full, deadlineMilliseconds: 60_000).get()
        await engine.drain()
        #expect(response.id == "parity" && response.modelName == ProtocolFixtures.scorer.model.name)
        let outputs = Dictionary(uniqueKeysWithValues: response.outputs.map { ($0.name, $0) })
        #expect(response.outputs.map(\.name) == ModelSignature.OutputName.allCases.map(\.rawValue))
        #expect(outputs["reconstruction"]?.data == .fp32(direct.patches.flatMap { $0.reconstruction! }))
        #expect(outputs["reconstruction"]?.shape == [2, 3, 150, 150])
        #expect(outputs["score"]?.data == .fp64(direct.patches.map { $0.score!.score }))
        #expect(outputs["verdict"]?.data == .bytes(direct.patches.map { Array($0.score!.verdict.rawValue.utf8) }))
        let statistics = direct.patches.flatMap { patch in Statistic.allCases.map { patch.score!.statistics[$0] } }
        #expect(outputs["statistics"]?.data == .fp64(statistics) && outputs["statistics"]?.shape == [2, 8])
        #expect(outputs["statistics"]?.parameters["names"] == .string("mse,l1,ssim,mse_p99,dssim_p99,tissue_fraction,sharpness,stain_p99"))
        #expect(outputs["mse_map"]?.data == .fp32(direct.patches.flatMap { $0.maps!.squaredError.map { Float($0) } }))
        #expect(outputs["ssim_map"]?.data == .fp32(direct.patches.flatMap { $0.maps!.ssim.map { Float($0) } }))
        #expect(outputs["ssim_map"]?.shape == [2, 150, 150])
    }

    @Test func scoresAtTheRequestsThresholdEqualTheScorersRethresholding() async throws {
        let (service, engine) = ProtocolFixtures.service()
        let image = try ProtocolFixtures.patch(1)
        let response = try await Self.infer(service, Self.request([image], outputs: ["score", "verdict"], parameters: ["fpr": .double(0.5)]))
        let direct = try await engine.submit([image], detail: .score, deadlineMilliseconds: 60_000).get()
        await engine.drain()
        let expected = try ProtocolFixtures.scorer.rethresholded(direct.patches[0].score!, threshold: .fpr(0.5))
        #expect(response.outputs[0].data == .fp64([expected.score]))
        #expect(response.outputs[1].data == .bytes([Array(expected.verdict.rawValue.utf8)]))
    }

    @Test func normalizedInputIsReconstructedLikeTheSamePixels() async throws {
        let (service, engine) = ProtocolFixtures.service()
        let image = try ProtocolFixtures.patch(0)
        let side = ModelSignature.side
        var normalized = [Float](repeating: 0, count: 3 * side * side)
        normalized.withUnsafeMutableBufferPointer { Normalization.normalize(image, into: $0.baseAddress!) }
        let request = InferenceRequest(inputs: [InputTensor(name: "input", datatype: "FP32", shape: [1, 3, side, side],
                                                            contents: .raw(normalized.withUnsafeBytes { Array($0) }))])
        let response = try await Self.infer(service, request)
        let direct = try await engine.submit([image], detail: .full, deadlineMilliseconds: 60_000).get()
        await engine.drain()
        #expect(response.outputs.map(\.name) == ["reconstruction"])
        #expect(response.outputs[0].data == .fp32(direct.patches[0].reconstruction!))
    }

    @Test func unknownModelsAndVersionsAreNotFound() async throws {
        let (service, engine) = ProtocolFixtures.service()
        let name = service.signature.name
        #expect(throws: InferenceError(.notFound, "unknown model 'other'; this server serves '\(name)' (version '\(service.signature.version)')")) {
            _ = try service.metadata("other", version: nil)
        }
        #expect(throws: InferenceError.self) { _ = try service.plan(Self.request([]), model: name, version: "0.0.0-missing") }
        #expect(try service.metadata(name, version: service.signature.version).name == name)
        #expect(try service.isModelReady(name, version: nil))
        await engine.drain()
    }

    @Test func anEngineRefusalIsTheProtocolsError() async throws {
        let (service, engine) = ProtocolFixtures.service(maxPatches: 8)
        await engine.drain()
        let plan = try service.plan(Self.request([try ProtocolFixtures.patch(0)]), model: service.signature.name, version: nil)
        let result = await service.run(plan, remainingMilliseconds: 1000)
        guard case .failure(let error) = result else { Issue.record("expected a refusal"); return }
        #expect(error.kind == .unavailable(retryAfterSeconds: 1) && error.httpStatus == 503 && error.grpcCode == 14)
        #expect(service.admissionRefusal() != nil && !service.isReady)
    }

    @Test func anAnswerThatCouldExceedTheResponseLimitIsRefusedBeforeAnyWork() async throws {
        let (service, engine) = ProtocolFixtures.service(maxResponseBytes: 1 << 20)
        let images = try [ProtocolFixtures.patch(0), ProtocolFixtures.patch(1)]
        let name = service.signature.name
        // JSON: 67 500 reconstruction numbers a patch, up to 16 bytes each, are already over 1 MiB.
        #expect(throws: InferenceError.self) { _ = try service.plan(Self.request(images), model: name, version: nil) }
        do { _ = try service.plan(Self.request(images), model: name, version: nil) } catch {
            #expect(error.kind == .tooLarge && error.message.contains("at most 0 patches"))
        }
        // Raw (gRPC, or REST binary data): about 450 KB a patch with every output: two fit.
        _ = try service.plan(Self.request(images), model: name, version: nil, rawOutputs: true)
        _ = try service.plan(Self.request(images, outputs: ["score", "verdict", "statistics"]), model: name, version: nil)
        await engine.drain()
    }
}
