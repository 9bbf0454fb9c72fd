import Foundation
import GRPCCore
@testable import InferenceGRPC
import InferenceProtocol
@testable import InferenceService
import MetricsTestKit
import Testing

/// The real endpoint on a free loopback port, called through grpc-swift 2's HTTP/2 client and the generated stub.
@Suite(.serialized) struct GRPCEndpointTests {
    @Test func healthAndMetadataDescribeTheModel() async throws {
        try await GRPCFixtures.withEndpoint { stub, _ in
            #expect(try await stub.serverLive(.init()).live)
            #expect(try await stub.serverReady(.init()).ready)
            var ready = Inference_ModelReadyRequest()
            ready.name = GRPCFixtures.scorer.model.name
            #expect(try await stub.modelReady(ready).ready)

            let server = try await stub.serverMetadata(.init())
            #expect(server.name == "histoae" && server.version == ServiceVersion.current)
            #expect(server.extensions == ["binary_tensor_data"])

            var request = Inference_ModelMetadataRequest()
            request.name = GRPCFixtures.scorer.model.name
            let model = try await stub.modelMetadata(request)
            #expect(model.versions == [GRPCFixtures.scorer.model.version])
            #expect(model.platform == ModelSignature.platform)
            #expect(model.inputs.map(\.name) == ["image", "input"])
            #expect(model.inputs[0].datatype == "UINT8" && model.inputs[0].shape == [-1, 150, 150, 3])
            #expect(model.outputs.map(\.name) == ["reconstruction", "score", "verdict", "statistics", "mse_map", "ssim_map"])
        }
    }

    @Test func rawImageGivesTheEnginesScoreBits() async throws {
        let images = try [GRPCFixtures.patch(0), GRPCFixtures.patch(1)]
        let engine = GRPCFixtures.engine()
        let direct = try await engine.submit(images, detail: .score, deadlineMilliseconds: 120_000).get()
        let response = try await GRPCFixtures.withEndpoint(engine: engine) { stub, _ in
            var request = GRPCFixtures.rawImageRequest(images, outputs: ["score", "verdict", "statistics"])
            request.id = "req-7"
            return try await stub.modelInfer(request)
        }
        #expect(response.id == "req-7" && response.modelName == GRPCFixtures.scorer.model.name)
        #expect(response.outputs.map(\.name) == ["score", "verdict", "statistics"])
        #expect(response.outputs.map(\.datatype) == ["FP64", "BYTES", "FP64"])
        #expect(response.outputs[0].shape == [2] && response.outputs[2].shape == [2, Int64(ModelSignature.statisticNames.count)])
        #expect(response.rawOutputContents.count == 3)
        let scores = GRPCFixtures.doubles(response.rawOutputContents[0])
        #expect(scores.map(\.bitPattern) == direct.patches.map { $0.score!.score.bitPattern })
        // BYTES in raw form: a 4-byte little-endian length, then the bytes.
        let verdict = [UInt8](response.rawOutputContents[1])
        let first = direct.patches[0].score!.verdict.rawValue
        #expect(Array(verdict.prefix(4)) == [UInt8(first.utf8.count), 0, 0, 0])
        #expect(String(decoding: verdict[4..<(4 + first.utf8.count)], as: UTF8.self) == first)
        #expect(response.outputs[2].parameters["names"]?.stringParam == ModelSignature.statisticNames.joined(separator: ","))
    }

    @Test func typedContentsGiveTheSameScoresAsRaw() async throws {
        let image = try GRPCFixtures.patch(1)
        let (raw, typed) = try await GRPCFixtures.withEndpoint { stub, _ in
            let raw = try await stub.modelInfer(GRPCFixtures.rawImageRequest([image], outputs: ["score"]))
            var request = GRPCFixtures.rawImageRequest([image], outputs: ["score"])
            request.rawInputContents = []
            request.inputs[0].contents.uintContents = image.pixels.map(UInt32.init)
            return (raw, try await stub.modelInfer(request))
        }
        #expect(typed.rawOutputContents == raw.rawOutputContents)
        #expect(GRPCFixtures.doubles(typed.rawOutputContents[0]).count == 1)
    }

    @Test func refusalsCarryTheProtocolsStatusCodes() async throws {
        let image = try GRPCFixtures.patch(0)
        try await GRPCFixtures.withEndpoint(maxPatches: 4, maxRequestBytes: 200_000) { stub, _ in
            var unknown = GRPCFixtures.rawImageRequest([image])
            unknown.modelName = "resnet"
            #expect(await GRPCFixtures.code { try await stub.modelInfer(unknown) } == .notFound)
            var metadata = Inference_ModelMetadataRequest()
            metadata.name = GRPCFixtures.scorer.model.name
            metadata.version = "no-such-version"
            #expect(await GRPCFixtures.code { try await stub.modelMetadata(metadata) } == .notFound)

            var shape = GRPCFixtures.rawImageRequest([image])
            shape.inputs[0].shape = [1, 150, 3, 150]
            #expect(await GRPCFixtures.code { try await stub.modelInfer(shape) } == .invalidArgument)
            var field = GRPCFixtures.rawImageRequest([image])
            field.rawInputContents = []
            field.inputs[0].contents.fp32Contents = [1, 2, 3]  // UINT8 travels in uint_contents
            #expect(await GRPCFixtures.code { try await stub.modelInfer(field) } == .invalidArgument)
            var parameter = GRPCFixtures.rawImageRequest([image])
            parameter.parameters["timeout"] = .with { $0.uint64Param = .max }
            #expect(await GRPCFixtures.code { try await stub.modelInfer(parameter) } == .invalidArgument)

            // 5 patches declared (3 bytes sent: under the byte limit) beyond max patches 4.
            var many = GRPCFixtures.rawImageRequest([image])
            many.inputs[0].shape = [5, 150, 150, 3]
            many.rawInputContents = [Data(count: 3)]
            #expect(await GRPCFixtures.code { try await stub.modelInfer(many) } == .resourceExhausted)
            // 2 real patches (135,000 bytes + framing) fit; 3 (within max patches) exceed the 200,000-byte message
            // limit: RESOURCE_EXHAUSTED. Beyond twice the limit grpc-swift's transport resets the stream unread
            // (RST_STREAM CANCEL), which its client reports as UNAVAILABLE.
            #expect(await GRPCFixtures.code { try await stub.modelInfer(GRPCFixtures.rawImageRequest([image, image], outputs: ["score"])) } == nil)
            let tooBig = await GRPCFixtures.code { try await stub.modelInfer(GRPCFixtures.rawImageRequest([image, image, image])) }
            #expect(tooBig == .resourceExhausted)
            let farTooBig = await GRPCFixtures.code { try await stub.modelInfer(GRPCFixtures.rawImageRequest(Array(repeating: image, count: 6))) }
            #expect(farTooBig == .unavailable)
        }
    }

    @Test func apiKeysGuardAllButHealth() async throws {
        let metrics = TestMetrics()
        try await GRPCFixtures.withEndpoint(keys: ["s3cret"], metrics: metrics) { stub, _ throws in
            var request = Inference_ModelMetadataRequest()
            request.name = GRPCFixtures.scorer.model.name
            #expect(await GRPCFixtures.code { try await stub.modelMetadata(request) } == .unauthenticated)
            #expect(await GRPCFixtures.code { try await stub.modelMetadata(request, metadata: ["authorization": "Bearer wrong"]) } == .unauthenticated)
            #expect(await GRPCFixtures.code { try await stub.modelInfer(GRPCFixtures.rawImageRequest([])) } == .unauthenticated)
            #expect(try await stub.modelMetadata(request, metadata: ["authorization": "Bearer s3cret"]).name == request.name)
            #expect(try await stub.serverLive(.init()).live)  // probes need no key
            #expect(try await stub.serverReady(.init()).ready)
        }
        #expect(metrics.counterTotal(label: "histoae_grpc_requests_total", dimensions: [("method", "ModelMetadata"), ("code", "UNAUTHENTICATED")]) == 2)
        #expect(metrics.counterTotal(label: "histoae_grpc_requests_total", dimensions: [("method", "ModelMetadata"), ("code", "OK")]) == 1)
        #expect(metrics.counterTotal(label: "histoae_grpc_requests_total", dimensions: [("method", "ModelInfer"), ("code", "UNAUTHENTICATED")]) == 1)
        #expect(try metrics.expectTimer("histoae_grpc_request_duration_seconds", [("method", "ModelMetadata")]).values.count == 3)
    }

    @Test func gracefulShutdownAnswersTheAcceptedRPC() async throws {
        let engine = GRPCFixtures.engine(held: true)
        let image = try GRPCFixtures.patch(0)
        let response = try await GRPCFixtures.withEndpoint(engine: engine) { stub, group in
            let call = Task { try await stub.modelInfer(GRPCFixtures.rawImageRequest([image], outputs: ["score"])) }
            while engine.queueDepth == 0 { try await Task.sleep(for: .milliseconds(10)) }  // accepted and queued
            await group.triggerGracefulShutdown()
            try await Task.sleep(for: .milliseconds(200))
            engine.hold(false)
            return try await call.value
        }
        #expect(GRPCFixtures.doubles(response.rawOutputContents[0]).count == 1)
    }
}
