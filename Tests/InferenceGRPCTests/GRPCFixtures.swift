import AutoencoderModel
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import ImageCodecs
@testable import InferenceGRPC
import InferenceProtocol
@testable import InferenceService
import MetricsTestKit
import NIOPosix
import Scoring
import ServiceLifecycle

/// The shipped default model (repository `models/default`), two real H&E patches, and the real endpoint on
/// 127.0.0.1 (port 0) with grpc-swift's real HTTP/2 client in front of it.
enum GRPCFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let bundle: ModelBundle = try! ModelBundle.load(root.appendingPathComponent("models/default"))
    static let scorer: PatchScorer = try! PatchScorer(card: bundle.card!)

    static func patch(_ index: Int) throws -> RGBImage {
        let url = root.appendingPathComponent("Tests/ScoringTests/Fixtures/patch\(index % 2).png")
        return try ImageDecoder.decode([UInt8](Data(contentsOf: url)))
    }

    /// A started engine; `held`: its workers take nothing until ``InferenceEngine/hold(_:)`` releases them.
    static func engine(held: Bool = false) -> InferenceEngine {
        let engine = InferenceEngine(model: bundle.model, scorer: scorer,
                                     configuration: EngineConfiguration(workers: 1, blasThreads: 1, queueCapacity: 16))
        engine.hold(held)
        engine.start()
        return engine
    }

    typealias Stub = Inference_GRPCInferenceService.Client<HTTP2ClientTransport.Posix>

    /// Serves `engine` on a free port for the length of `body`, in a service group (as `histoae serve` runs it),
    /// then shuts the group down gracefully and drains the engine.
    static func withEndpoint<T: Sendable>(
        engine: InferenceEngine = engine(), keys: [String] = [], maxPatches: Int = 4, maxRequestBytes: Int = 16 << 20,
        metrics: TestMetrics = TestMetrics(),
        _ body: (Stub, ServiceGroup) async throws -> T
    ) async throws -> T {
        let service = OpenInferenceService(engine: engine, scorer: scorer,
                                           limits: .init(maxPatches: maxPatches, defaultDeadlineMilliseconds: 60_000))
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let (addresses, listening) = AsyncStream.makeStream(of: String.self)
        let endpoint = GRPCEndpoint(service: service, codecPool: pool, keys: APIKeys(keys),
                                    configuration: .init(host: "127.0.0.1", port: 0, maxRequestBytes: maxRequestBytes),
                                    metrics: metrics) { listening.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [endpoint], logger: .init(label: "test")))
        let serving = Task { try await group.run() }
        var iterator = addresses.makeAsyncIterator()
        let result: Result<T, any Error>
        if let address = await iterator.next(), let port = address.split(separator: ":").last.flatMap({ Int($0) }) {
            do {
                result = .success(try await withGRPCClient(
                    transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
                ) { client in try await body(Stub(wrapping: client), group) })
            } catch {
                result = .failure(error)
            }
        } else {
            result = .failure(RPCError(code: .unavailable, message: "the endpoint reported no address"))
        }
        await group.triggerGracefulShutdown()
        try await serving.value
        await engine.drain()
        try await pool.shutdownGracefully()
        return try result.get()
    }

    /// A `ModelInfer` request for `images` as one UINT8 `image` tensor in `raw_input_contents` (tritonclient's way).
    static func rawImageRequest(_ images: [RGBImage], outputs: [String] = []) -> Inference_ModelInferRequest {
        var request = Inference_ModelInferRequest()
        request.modelName = bundle.card!.name
        var tensor = Inference_ModelInferRequest.InferInputTensor()
        tensor.name = "image"
        tensor.datatype = "UINT8"
        tensor.shape = [Int64(images.count), 150, 150, 3]
        request.inputs = [tensor]
        request.rawInputContents = [Data(images.flatMap(\.pixels))]
        request.outputs = outputs.map { name in
            var output = Inference_ModelInferRequest.InferRequestedOutputTensor()
            output.name = name
            return output
        }
        return request
    }

    /// The raw little-endian FP64 elements of an output.
    static func doubles(_ data: Data) -> [Double] {
        stride(from: 0, to: data.count, by: 8).map { offset in
            Double(bitPattern: data[data.startIndex + offset..<data.startIndex + offset + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) })
        }
    }

    /// The status code of a failed call, or nil when it succeeded.
    static func code(_ call: () async throws -> some Sendable) async -> RPCError.Code? {
        do { _ = try await call(); return nil } catch let error as RPCError { return error.code } catch { return .unknown }
    }
}
