import GRPCCore
import InferenceService

/// Metadata `authorization: Bearer <key>` on every RPC but the health checks (`ServerLive`, `ServerReady`:
/// KServe's and Kubernetes' probes call them, as REST's `/v2/health/*` need no key), checked by
/// ``InferenceService/APIKeys`` as the HTTP server checks its `Authorization` header. A refusal is
/// UNAUTHENTICATED with the line REST answers.
///
/// ```swift
/// GRPCServer(transport: transport, services: [service], interceptors: [APIKeyInterceptor(keys: APIKeys(["s3cret"]))])
/// ```
struct APIKeyInterceptor: ServerInterceptor {
    let keys: APIKeys
    /// Methods that need no key.
    static let openMethods: Set<String> = ["ServerLive", "ServerReady"]

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard !keys.isEmpty, !Self.openMethods.contains(context.descriptor.method) else { return try await next(request, context) }
        // One value only: a second `authorization` would let a proxy and the server read different keys.
        let values = Array(request.metadata[stringValues: "authorization"])
        guard let value = values.first else {
            throw RPCError(code: .unauthenticated, message: "this service needs an API key: send metadata 'authorization: Bearer <key>'")
        }
        guard values.count == 1, keys.admits(authorization: value) else {
            throw RPCError(code: .unauthenticated, message: "the API key is not valid (expected metadata 'authorization: Bearer <key>')")
        }
        return try await next(request, context)
    }
}
