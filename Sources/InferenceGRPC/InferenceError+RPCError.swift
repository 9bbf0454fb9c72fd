import GRPCCore
import InferenceProtocol

extension InferenceError {
    /// The protocol's refusal as a gRPC status: the code InferenceProtocol chose (``InferenceProtocol/InferenceError/grpcCode``)
    /// and its one readable line. A refusal that asks the client to come back says when, as REST's `Retry-After`
    /// does, in the metadata gRPC's retry policies read (`grpc-retry-pushback-ms`).
    ///
    /// ```swift
    /// throw InferenceError(.notFound, "unknown model 'x'").rpcError   // NOT_FOUND
    /// ```
    var rpcError: RPCError {
        let code = Status.Code(rawValue: grpcCode).flatMap { RPCError.Code($0) } ?? .internalError
        var metadata: Metadata = [:]
        if case .unavailable(let seconds) = kind { metadata.addString(String(seconds * 1000), forKey: "grpc-retry-pushback-ms") }
        return RPCError(code: code, message: message, metadata: metadata)
    }
}
