import Foundation
import HTTPTypes
import Hummingbird
import InferenceProtocol
import InferenceService
import NIOCore
import NIOPosix

/// The Open Inference Protocol's REST binding (KServe v2, docs/open-inference.md): `/v2` server metadata and
/// health, model metadata and readiness, and `POST /v2/models/{name}[/versions/{version}]/infer` with JSON tensors
/// or binary tensor data. Every inference goes through ``InferenceProtocol/OpenInferenceService`` — the engine,
/// queue, limits and keys of `/v1` — with the body parsed and the answer encoded on the codec threads.
///
/// ```swift
/// OpenInferenceEndpoints(service: inference, codecPool: pool, configuration: configuration, bufferBudget: budget)
///     .register(on: router)
/// ```
struct OpenInferenceEndpoints: Sendable {
    let service: OpenInferenceService
    let codecPool: NIOThreadPool
    let configuration: ServerConfiguration
    let bufferBudget: BufferBudget

    /// The model routes, each with and without `/versions/{version}`.
    static let modelRoutes = ["", "/ready", "/infer"].flatMap { tail in
        ["/v2/models/{name}" + tail, "/v2/models/{name}/versions/{version}" + tail]
    }

    static let routes: [String: [HTTPRequest.Method]] = Dictionary(uniqueKeysWithValues:
        [("/v2", [.get]), ("/v2/health/live", [.get]), ("/v2/health/ready", [.get])]
            + modelRoutes.map { ($0, $0.hasSuffix("/infer") ? [HTTPRequest.Method.post] : [.get]) })

    /// Health needs no key: KServe's and Kubernetes' probes call it.
    static let openPaths: Set<String> = ["/v2/health/live", "/v2/health/ready"]

    func register(on router: Router<ServiceRequestContext>) {
        router.get("/v2") { _, _ in Self.json(RESTResponseEncoding.serverMetadata()) }
        router.get("/v2/health/live") { _, _ in Self.json(Array(#"{"live":true}"#.utf8)) }
        router.get("/v2/health/ready") { [service] _, _ in
            guard service.isReady else { throw Self.notReady(service) }
            return Self.json(Array(#"{"ready":true}"#.utf8))
        }
        for prefix in ["/v2/models/{name}", "/v2/models/{name}/versions/{version}"] {
            router.get(RouterPath(prefix)) { [service] _, context in
                let (name, version) = Self.model(context)
                return Self.json(RESTResponseEncoding.modelMetadata(try Self.answering { () throws(InferenceError) in
                    try service.metadata(name, version: version)
                }))
            }
            router.get(RouterPath(prefix + "/ready")) { [service] _, context in
                let (name, version) = Self.model(context)
                let ready = try Self.answering { () throws(InferenceError) in try service.isModelReady(name, version: version) }
                guard ready else { throw Self.notReady(service) }
                return Self.json(Array(#"{"name":\#(RESTResponseEncoding.quotedJSON(name)),"ready":true}"#.utf8))
            }
            router.post(RouterPath(prefix + "/infer")) { request, context in try await infer(request, context: context) }
        }
    }

    /// Receive the body under the `/v1` limits, parse and plan it on a codec thread, queue it, encode the answer
    /// on a codec thread. The deadline counts from arrival, as on `/v1`.
    func infer(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let arrival = ContinuousClock.now
        let (name, version) = Self.model(context)
        let service = self.service
        _ = try Self.answering { () throws(InferenceError) in try service.metadata(name, version: version) }
        if let refusal = service.admissionRefusal() { throw refusal.problem }
        let headerLength = try Self.headerLength(request.headers[.inferenceHeaderContentLength])
        let serverDeadline = configuration.defaultDeadlineMilliseconds
        let reader = PatchUploadReader(maxBodyBytes: configuration.maxBodyBytes, maxPatches: configuration.maxPatchesPerRequest,
                                       budget: bufferBudget)
        let body = try await reader.receive(contentType: request.headers[.contentType], contentLength: request.headers[.contentLength],
                                            body: request.body, deadline: (arrival + .milliseconds(serverDeadline), serverDeadline),
                                            channel: context.channel, anyMediaType: true)
        defer { body.release() }
        let plan = try await onCodecThread { () throws(InferenceError) in
            let bytes = body.bytes.getBytes(at: body.bytes.readerIndex, length: body.bytes.readableBytes) ?? []
            return try service.plan(try RESTRequestDecoding.decode(bytes, headerLength: headerLength), model: name, version: version)
        }
        // The answer's worst case is held from now until it has been written (as on /v1): clients that ask for
        // large answers and do not read them cannot pile them up.
        var reservation = try bufferBudget.holdOrRefuse(plan.responseBytes(raw: false))
        let deadline = service.deadlineMilliseconds(plan)
        let remaining = Int(((arrival + .milliseconds(deadline) - ContinuousClock.now) / .milliseconds(1)).rounded(.down))
        let outcome = try await ClientDisconnectHandler.whileConnected(context.channel) {
            await service.run(plan, remainingMilliseconds: remaining)
        }.get()
        let (bytes, jsonLength) = try await onCodecThread { () throws(InferenceError) in
            RESTResponseEncoding.inference(try service.response(plan, outcome: outcome))
        }
        var headers: HTTPFields = [.contentType: jsonLength == nil ? "application/json" : "application/octet-stream"]
        if let jsonLength { headers[.inferenceHeaderContentLength] = String(jsonLength) }
        if let exact = bufferBudget.hold(bytes.count) { reservation = exact }  // the worst case was larger
        return Response(status: .ok, headers: headers, body: PatchEndpoints.body(bytes, holding: reservation))
    }

    /// Runs `body` on a codec thread; its ``InferenceError`` as the protocol's problem.
    private func onCodecThread<T: Sendable>(_ body: @escaping @Sendable () throws(InferenceError) -> T) async throws -> T {
        let result = try await codecPool.runIfActive { Result(catching: body) }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw error.problem
        }
    }

    /// `body`'s value, or its ``InferenceProtocol/InferenceError`` as the protocol's problem.
    static func answering<T>(_ body: () throws(InferenceError) -> T) throws -> T {
        do { return try body() } catch { throw error.problem }
    }

    /// `Inference-Header-Content-Length`: the JSON's length when binary tensor data follows it.
    static func headerLength(_ value: String?) throws -> Int? {
        guard let value else { return nil }
        guard let length = Int(value), length >= 0 else {
            throw InferenceError(.invalidArgument, "Inference-Header-Content-Length '\(value)' is not a byte count").problem
        }
        return length
    }

    static func model(_ context: ServiceRequestContext) -> (name: String, version: String?) {
        (context.parameters.get("name") ?? "", context.parameters.get("version"))
    }

    static func notReady(_ service: OpenInferenceService) -> Problem {
        InferenceError(.unavailable(retryAfterSeconds: 1), "not ready: the inference queue is full or the server is draining").problem
    }

    static func json(_ bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension InferenceError {
    /// The REST face: the status and the message (``ProblemMiddleware`` adds the protocol's `error` member to
    /// every problem of a `/v2` route).
    var problem: Problem {
        var headers: HTTPFields = [:]
        if case .unavailable(let seconds) = kind { headers[.retryAfter] = String(seconds) }
        return Problem(HTTPResponse.Status(code: httpStatus), message, headers: headers)
    }
}

extension HTTPField.Name {
    /// The binary tensor data extension's header: the JSON's length, the rest of the body is tensor data.
    static let inferenceHeaderContentLength = HTTPField.Name("Inference-Header-Content-Length")!
}
