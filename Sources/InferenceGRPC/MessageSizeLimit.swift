import GRPCCore

/// Refuses a request message larger than the server takes with RESOURCE_EXHAUSTED and a readable line, before
/// decoding it. grpc-swift's transport enforces its own payload limit by resetting the stream (clients report
/// CANCELLED or UNAVAILABLE, with no reason), so the endpoint sets the transport's limit above this one
/// (``GRPCEndpoint/Configuration/transportLimit``) and lets this deserializer answer the messages in between.
///
/// ```swift
/// router.registerHandler(forMethod: method,
///                        deserializer: MessageSizeLimit(maxBytes: 16 << 20, ProtobufDeserializer<Request>()), …)
/// ```
struct MessageSizeLimit<Wrapped: MessageDeserializer>: MessageDeserializer {
    let maxBytes: Int
    let wrapped: Wrapped

    init(maxBytes: Int, _ wrapped: Wrapped) {
        self.maxBytes = maxBytes
        self.wrapped = wrapped
    }

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Wrapped.Message {
        guard serializedMessageBytes.count <= maxBytes else {
            throw RPCError(code: .resourceExhausted,
                           message: "the request message is \(serializedMessageBytes.count) bytes; this server takes at most \(maxBytes) bytes in one request (--max-body-bytes): send fewer patches per request")
        }
        return try wrapped.deserialize(serializedMessageBytes)
    }
}
