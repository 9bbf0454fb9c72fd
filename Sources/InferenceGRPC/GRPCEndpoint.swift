import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import InferenceProtocol
import InferenceService
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The Open Inference Protocol's gRPC endpoint (`inference.GRPCInferenceService`) as a swift-service-lifecycle
/// ``Service``: HTTP/2 without TLS on `host:port`, request messages up to `maxRequestBytes` (a larger one:
/// RESOURCE_EXHAUSTED, ``MessageSizeLimit``), the key check and metrics interceptors. On graceful shutdown it stops accepting RPCs and returns once the accepted ones are answered,
/// so a service group that lists it after the engine stops it before the engine drains.
///
/// ```swift
/// let endpoint = GRPCEndpoint(service: inference, codecPool: pool, keys: APIKeys(["s3cret"]),
///                             configuration: .init(host: "127.0.0.1", port: 0, maxRequestBytes: 16 << 20),
///                             metrics: factory) { address in print("grpc on \(address)") }
/// try await ServiceGroup(services: [endpoint], logger: logger).run()
/// ```
public struct GRPCEndpoint: Service {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 asks the kernel for a free port (`onListening` receives the bound one).
        public var port: Int
        /// Largest request message; a larger one is refused with RESOURCE_EXHAUSTED before it is decoded.
        public var maxRequestBytes: Int

        public init(host: String, port: Int, maxRequestBytes: Int) {
            self.host = host
            self.port = port
            self.maxRequestBytes = maxRequestBytes
        }

        /// The transport's own hard limit, twice ours: a message up to twice the limit is refused readably
        /// (``MessageSizeLimit``), a larger one is reset by the transport before it is buffered whole.
        var transportLimit: Int {
            let (doubled, overflow) = maxRequestBytes.multipliedReportingOverflow(by: 2)
            return overflow ? Int.max : doubled
        }
    }

    let service: OpenInferenceService
    let codecPool: NIOThreadPool
    let keys: APIKeys
    let configuration: Configuration
    let metrics: any MetricsFactory
    /// Receives the bound address, `host:port` (`[host]:port` for IPv6), once the socket listens.
    let onListening: @Sendable (String) -> Void

    public init(service: OpenInferenceService, codecPool: NIOThreadPool, keys: APIKeys, configuration: Configuration,
                metrics: any MetricsFactory, onListening: @escaping @Sendable (String) -> Void = { _ in }) {
        self.service = service
        self.codecPool = codecPool
        self.keys = keys
        self.configuration = configuration
        self.metrics = metrics
        self.onListening = onListening
    }

    public func run() async throws {
        let address = try await bindAddress()
        let maxBytes = configuration.maxRequestBytes
        let transport = HTTP2ServerTransport.Posix(
            address: address, transportSecurity: .plaintext,
            config: .defaults { $0.rpc.maxRequestPayloadSize = configuration.transportLimit })
        let draining = DrainSignal()
        let inference = GRPCInferenceService(service: service, codecPool: codecPool, draining: draining)
        var router = RPCRouter<HTTP2ServerTransport.Posix>()
        inference.registerMethods(with: &router)
        // ModelInfer again (the router replaces it), its messages checked against the request limit before decoding.
        router.registerHandler(forMethod: Inference_GRPCInferenceService.Method.ModelInfer.descriptor,
                               deserializer: MessageSizeLimit(maxBytes: maxBytes, ProtobufDeserializer<Inference_ModelInferRequest>()),
                               serializer: ProtobufSerializer<Inference_ModelInferResponse>()) { request, context in
            try await inference.modelInfer(request: request, context: context)
        }
        // Metrics outermost, so refusals of the key check are counted too.
        router.registerInterceptors(pipeline: [.apply(GRPCMetricsInterceptor(factory: metrics), to: .all),
                                               .apply(APIKeyInterceptor(keys: keys), to: .all)])
        let server = GRPCServer(transport: transport, router: router)
        let onListening = self.onListening
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    onListening(Self.text(try await transport.listeningAddress))
                }
                try await server.serve()
            }
        } onGracefulShutdown: {
            draining.begin()
            server.beginGracefulShutdown()
        }
    }

    /// `host` resolved (a name like `localhost` too) on a codec thread: name resolution blocks.
    private func bindAddress() async throws -> GRPCNIOTransportHTTP2Posix.SocketAddress {
        let host = configuration.host, port = configuration.port
        let resolved = try await codecPool.runIfActive { try NIOCore.SocketAddress.makeAddressResolvingHost(host, port: port) }
        switch resolved {
        case .v4: return .ipv4(host: resolved.ipAddress ?? host, port: port)
        case .v6: return .ipv6(host: resolved.ipAddress ?? host, port: port)
        case .unixDomainSocket: throw ConfigurationMismatch(host: host)
        }
    }

    static func text(_ address: GRPCNIOTransportHTTP2Posix.SocketAddress) -> String {
        if let ipv4 = address.ipv4 { return "\(ipv4.host):\(ipv4.port)" }
        if let ipv6 = address.ipv6 { return "[\(ipv6.host)]:\(ipv6.port)" }
        return String(describing: address)
    }

    struct ConfigurationMismatch: Error, CustomStringConvertible {
        let host: String
        var description: String { "the gRPC host '\(host)' is not an IP address or host name" }
    }
}
