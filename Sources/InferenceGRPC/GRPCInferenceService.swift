import Foundation
import GRPCCore
import InferenceProtocol
import InferenceService
import NIOPosix

/// `inference.GRPCInferenceService` (Protos/open_inference_grpc.proto) over ``InferenceProtocol/OpenInferenceService``:
/// each RPC converts the protobuf message to InferenceProtocol's types, calls the service and converts the answer
/// back, so gRPC and REST share one engine, queue, limits and protocol logic. Decoding, planning and encoding copy
/// every element and run on `codecPool`, never on Swift's cooperative pool; only the engine's queue is awaited.
///
/// ```swift
/// let service = GRPCInferenceService(service: inference, codecPool: pool, draining: DrainSignal())
/// let server = GRPCServer(transport: transport, services: [service], interceptors: [...])
/// ```
struct GRPCInferenceService: Inference_GRPCInferenceService.ServiceProtocol {
    let service: OpenInferenceService
    let codecPool: NIOThreadPool
    /// Set when the endpoint shuts down gracefully: accepted inferences then run to their end.
    let draining: DrainSignal

    func serverLive(request: ServerRequest<Inference_ServerLiveRequest>,
                    context: ServerContext) async throws -> ServerResponse<Inference_ServerLiveResponse> {
        var message = Inference_ServerLiveResponse()
        message.live = service.isLive
        return ServerResponse(message: message)
    }

    func serverReady(request: ServerRequest<Inference_ServerReadyRequest>,
                     context: ServerContext) async throws -> ServerResponse<Inference_ServerReadyResponse> {
        var message = Inference_ServerReadyResponse()
        message.ready = service.isReady
        return ServerResponse(message: message)
    }

    func modelReady(request: ServerRequest<Inference_ModelReadyRequest>,
                    context: ServerContext) async throws -> ServerResponse<Inference_ModelReadyResponse> {
        var message = Inference_ModelReadyResponse()
        do { message.ready = try service.isModelReady(request.message.name, version: Self.version(request.message.version)) } catch {
            throw error.rpcError
        }
        return ServerResponse(message: message)
    }

    func serverMetadata(request: ServerRequest<Inference_ServerMetadataRequest>,
                        context: ServerContext) async throws -> ServerResponse<Inference_ServerMetadataResponse> {
        ServerResponse(message: ProtobufResponseEncoding.serverMetadata())
    }

    func modelMetadata(request: ServerRequest<Inference_ModelMetadataRequest>,
                       context: ServerContext) async throws -> ServerResponse<Inference_ModelMetadataResponse> {
        do {
            let signature = try service.metadata(request.message.name, version: Self.version(request.message.version))
            return ServerResponse(message: ProtobufResponseEncoding.modelMetadata(signature))
        } catch {
            throw error.rpcError
        }
    }

    /// Decode and plan on a codec thread, queue the patches, encode on a codec thread. The deadline counts from
    /// the handler's start: the shorter of the request's (`timeout` parameter, else `--deadline-ms`) and the
    /// client's gRPC deadline.
    func modelInfer(request: ServerRequest<Inference_ModelInferRequest>,
                    context: ServerContext) async throws -> ServerResponse<Inference_ModelInferResponse> {
        let arrival = ContinuousClock.now
        let service = self.service, message = request.message
        let version = Self.version(message.modelVersion)
        do { _ = try service.metadata(message.modelName, version: version) } catch { throw error.rpcError }
        if let refusal = service.admissionRefusal() { throw refusal.rpcError }
        let plan = try await onCodecThread { () throws(InferenceError) in
            try service.plan(try ModelInferRequestDecoding.decode(message), model: message.modelName, version: version,
                             rawOutputs: true)
        }
        let deadline = min(service.deadlineMilliseconds(plan), GRPCTimeout.milliseconds(in: request.metadata) ?? .max)
        let remaining = Int(((arrival + .milliseconds(deadline) - ContinuousClock.now) / .milliseconds(1)).rounded(.down))
        let outcome = try await runUntilCancelled(plan, remaining: remaining).mapError(\.rpcError).get()
        let answer = try await onCodecThread { () throws(InferenceError) in
            ProtobufResponseEncoding.inference(try service.response(plan, outcome: outcome))
        }
        return ServerResponse(message: answer)
    }

    /// Runs the inference; if gRPC cancels the RPC (the client went away, or its deadline passed), its queued
    /// patches are dropped. gRPC signals the same when the server begins shutting down: then the accepted
    /// inference goes on (bounded by its deadline and the drain timeout).
    private func runUntilCancelled(_ plan: InferencePlan, remaining: Int) async -> Result<BatchOutcome, InferenceError> {
        let service = self.service, draining = self.draining
        let submission = Task { await service.run(plan, remainingMilliseconds: remaining) }
        return await withTaskCancellationHandler {
            await withRPCCancellationHandler { await submission.value } onCancelRPC: {
                if !draining.isDraining { submission.cancel() }
            }
        } onCancel: {
            submission.cancel()
        }
    }

    /// Runs `body` on a codec thread; its ``InferenceProtocol/InferenceError`` as the gRPC status.
    private func onCodecThread<T: Sendable>(_ body: @escaping @Sendable () throws(InferenceError) -> T) async throws -> T {
        let result = try await codecPool.runIfActive { Result(catching: body) }
        return try result.mapError(\.rpcError).get()
    }

    /// The protocol's empty version: whichever the server serves.
    static func version(_ text: String) -> String? { text.isEmpty ? nil : text }
}
