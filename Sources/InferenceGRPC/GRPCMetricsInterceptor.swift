import GRPCCore
import Metrics

/// Counts and times every RPC, whatever its outcome (refusals of the key check included: it runs outermost).
///
/// Metrics: `histoae_grpc_requests_total{method, code}` (`code`: `OK` or the gRPC status name, as
/// grpc/doc/statuscodes.md spells it) and `histoae_grpc_request_duration_seconds{method}`.
///
/// ```swift
/// GRPCServer(transport: transport, services: [service], interceptors: [GRPCMetricsInterceptor(factory: factory), …])
/// ```
struct GRPCMetricsInterceptor: ServerInterceptor {
    let factory: any MetricsFactory

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let started = ContinuousClock.now
        let method = context.descriptor.method
        let code: String
        let response: StreamingServerResponse<Output>
        do {
            response = try await next(request, context)
            switch response.accepted {
            case .success: code = "OK"
            case .failure(let error): code = Self.name(error.code)
            }
        } catch {
            code = Self.name((error as? RPCError)?.code ?? .unknown)
            record(method: method, code: code, since: started)
            throw error
        }
        // A unary handler's answer is made by now; what is left is writing it.
        record(method: method, code: code, since: started)
        return response
    }

    private func record(method: String, code: String, since started: ContinuousClock.Instant) {
        Counter(label: "histoae_grpc_requests_total", dimensions: [("method", method), ("code", code)], factory: factory).increment()
        let elapsed = (ContinuousClock.now - started).components
        Metrics.Timer(label: "histoae_grpc_request_duration_seconds", dimensions: [("method", method)], factory: factory)
            .recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }

    /// The status code's canonical name.
    static func name(_ code: RPCError.Code) -> String {
        let names = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                     "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                     "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]
        return names.indices.contains(code.rawValue) ? names[code.rawValue] : String(code.rawValue)
    }
}
