import AutoencoderModel
import Foundation
import HTTPTypes
import Hummingbird
import ImageCodecs
import InferenceService
import NIOCore
import NIOPosix
import Scoring

/// `POST /v1/reconstruct` and `POST /v1/score`: read the upload, decode it on the codec threads, queue the
/// patches in the ``InferenceEngine``, render the answer on the codec threads. The handlers themselves only
/// await; no pixel is touched on an event loop or Swift's cooperative pool.
struct PatchEndpoints: Sendable {
    let engine: InferenceEngine
    let codecPool: NIOThreadPool
    let model: ModelIdentity
    /// The engine's scorer: re-applies a request's own threshold (`threshold=`, `fpr=`) to the scores it made.
    let scorer: PatchScorer
    let configuration: ServerConfiguration

    let bufferBudget: BufferBudget

    var reader: PatchUploadReader {
        PatchUploadReader(maxBodyBytes: configuration.maxBodyBytes, maxPatches: configuration.maxPatchesPerRequest,
                          budget: bufferBudget)
    }

    func reconstruct(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let query = try PatchQuery(request.uri.queryParameters, allowed: PatchQuery.reconstructKeys)
        return try await process(request, channel: context.channel, query: query, detail: .full)
    }

    func score(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let query = try PatchQuery(request.uri.queryParameters, allowed: PatchQuery.scoreKeys)
        return try await process(request, channel: context.channel, query: query, detail: .score)
    }

    /// Admission, upload, parse and decode, queue, render. Everything that can refuse the request cheaply does
    /// so before the costlier steps: the queue's room before the body is read, the response budget and every
    /// image header before a pixel is decoded. The deadline counts from the request's arrival: the server's
    /// own (`--deadline-ms`) bounds the upload itself; a shorter one the request asks for (`timeout_ms`) is
    /// checked once the body is in (a few milliseconds of a client's TCP send delays are not its upload
    /// being late) and again in the queue.
    private func process(_ request: Request, channel: any Channel, query: PatchQuery,
                         detail: OutputDetail) async throws -> Response {
        let arrival = ContinuousClock.now
        let format = try ResponseFormat.negotiate(request.headers[.accept], allowPNG: detail == .full)
        if let refusal = engine.admissionRefusal() { throw refusal.problem }
        let deadlineMilliseconds = min(query.timeoutMilliseconds ?? configuration.defaultDeadlineMilliseconds,
                                       configuration.defaultDeadlineMilliseconds)
        let deadline = arrival + .milliseconds(deadlineMilliseconds)
        var timing = ServerTiming()
        let (reader, maxResponseBytes) = (self.reader, configuration.maxResponseBytes)
        let body = try await timing.measure("upload") {
            try await reader.receive(contentType: request.headers[.contentType], contentLength: request.headers[.contentLength],
                                     body: request.body,
                                     deadline: (arrival + .milliseconds(configuration.defaultDeadlineMilliseconds),
                                                configuration.defaultDeadlineMilliseconds),
                                     channel: channel)
        }
        defer { body.release() }
        let (names, images) = try await timing.measure("decode") {
            try await codecPool.runIfActive {
                let uploads = try reader.split(body)
                if format == .png && uploads.count != 1 {
                    throw Problem(.notAcceptable, "Accept: image/png answers one patch; this request has \(uploads.count) (ask for application/json)")
                }
                if format == .json {
                    try ResponseBudget(limit: maxResponseBytes).check(patches: uploads.count, query: query, detail: detail)
                }
                return (uploads.map(\.name), try Self.decode(uploads))
            }
        }
        // The answer's worst case is held from now until it has been written: clients that ask for large
        // answers and do not read them cannot pile them up.
        let answerBytes = format == .png ? ResponseBudget.pngAnswerBytes(query.picture)
                                         : names.count * ResponseBudget.bytesPerPatch(query: query, detail: detail)
        var answerReservation = try bufferBudget.holdOrRefuse(answerBytes)
        let remaining = Int(((deadline - ContinuousClock.now) / .milliseconds(1)).rounded(.down))
        guard remaining >= 1 else { throw ServiceError.deadlineExceeded(milliseconds: deadlineMilliseconds).problem }
        let engine = self.engine
        let result = await ClientDisconnectHandler.whileConnected(channel) {
            await engine.submit(images, detail: detail, deadlineMilliseconds: remaining)
        }
        if case .failure(.deadlineExceeded) = result {  // name the request's deadline, not what was left of it
            throw ServiceError.deadlineExceeded(milliseconds: deadlineMilliseconds).problem
        }
        let outcome = try Self.applying(query.threshold, to: try result.orProblem(), with: scorer)
        timing.add("queue", seconds: outcome.queueSeconds)
        timing.add("inference", seconds: outcome.inferenceSeconds)
        let (model, precision) = (self.model, engine.precision)
        let (bytes, type): ([UInt8], String) = try await timing.measure("encode") {
            try await codecPool.runIfActive {
                if format == .png {
                    return (try ResponseRenderer.picture(outcome.patches[0], input: images[0], name: names[0], query: query),
                            ResponseFormat.pngType)
                }
                let reports = detail == .full
                    ? try ResponseRenderer.reports(outcome.patches, names: names, query: query)
                    : try outcome.patches.enumerated().map { PatchReport(index: $0, name: names[$0], score: try $1.requireScore()) }
                return (try ResponseRenderer.json(PatchesResponse(model: model, patches: reports, precision: precision)), ResponseFormat.jsonType)
            }
        }
        var headers: HTTPFields = [.contentType: type]
        headers[.serverTiming] = timing.header
        headers[.histoAEPrecision] = precision.rawValue
        if let exact = bufferBudget.hold(bytes.count) { answerReservation = exact }  // the worst case was larger
        return Response(status: .ok, headers: headers, body: Self.body(bytes, holding: answerReservation))
    }

    /// The answer written in 1 MiB pieces, so that the last write returns only once most of it has gone out;
    /// the reservation is released with the body, after the write.
    static func body(_ bytes: [UInt8], holding reservation: BufferBudget.Reservation) -> ResponseBody {
        let buffer = ByteBuffer(bytes: bytes)
        return ResponseBody(contentLength: buffer.readableBytes) { writer in
            var rest = buffer
            while let piece = rest.readSlice(length: min(1 << 20, rest.readableBytes)), piece.readableBytes > 0 {
                try await writer.write(piece)
            }
            try await writer.finish(nil)
            withExtendedLifetime(reservation) {}
        }
    }

    /// The outcome with every score re-derived at the request's threshold (nothing recomputed but verdicts and
    /// flags: about a quarter of a microsecond a patch); unchanged for the default, which the engine applied.
    static func applying(_ threshold: ThresholdChoice, to outcome: BatchOutcome, with scorer: PatchScorer) throws -> BatchOutcome {
        guard threshold != .default else { return outcome }
        var out = outcome
        for index in out.patches.indices {
            guard let score = out.patches[index].score else { continue }
            do { out.patches[index].score = try scorer.rethresholded(score, threshold: threshold) } catch {
                throw Problem(.badRequest, error.description)
            }
        }
        return out
    }

    /// Decodes every upload as a 150×150 patch: the size is read from each header first, so no other size
    /// costs a decoded pixel (422 names the first that fails, and the size it has).
    static func decode(_ uploads: [UploadedPatch]) throws -> [RGBImage] {
        let side = PatchDecoding.side
        return try uploads.enumerated().map { index, upload in
            let label = upload.name.map { "patch \(index) (\($0))" } ?? "patch \(index)"
            do {
                return try upload.bytes.withUnsafeReadableBytes { try PatchDecoding.decode($0, limits: PatchDecoding.patchOnly) }
            } catch let PatchDecodingError.wrongSize(width, height) {
                throw Problem(.unprocessableContent, "\(label) is \(width)×\(height); the model takes \(side)×\(side) patches",
                              extra: ["patch": .int(index), "width": .int(width), "height": .int(height)])
            } catch let PatchDecodingError.undecodable(error) {
                throw Problem(.unprocessableContent, "\(label) cannot be decoded: \(error.description)",
                              extra: ["patch": .int(index)])
            }
        }
    }
}

extension ServiceError {
    /// The HTTP face of an engine refusal.
    var problem: Problem {
        switch self {
        case let .overloaded(_, _, retryAfter):
            Problem(.serviceUnavailable, description, extra: ["retry_after_seconds": .int(retryAfter)],
                    headers: [.retryAfter: String(retryAfter)])
        case .tooManyPatches: Problem(.contentTooLarge, description)
        case .deadlineExceeded: Problem(.gatewayTimeout, description)
        case .shuttingDown: Problem(.serviceUnavailable, description, headers: [.retryAfter: "1"])
        case .cancelled: Problem(.serviceUnavailable, description)
        case .scoring: Problem(.internalServerError, description)
        }
    }
}

extension Result where Failure == ServiceError {
    /// The success value, or the failure as a ``Problem``.
    func orProblem() throws -> Success {
        switch self {
        case .success(let value): value
        case .failure(let error): throw error.problem
        }
    }
}

/// The `Server-Timing` header (W3C): `decode;dur=1.2, queue;dur=3.4, …` in milliseconds.
struct ServerTiming {
    private var entries: [(String, Double)] = []

    mutating func add(_ name: String, seconds: Double) { entries.append((name, seconds)) }

    mutating func measure<T>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        let value = try await body()
        let elapsed = ContinuousClock.now - start
        add(name, seconds: elapsed.seconds)
        return value
    }

    /// `name;dur=12.34, …` in milliseconds with two decimals (formatted by hand: `String(format:)` goes
    /// through Foundation's locale machinery and cost more than the rest of the header on every request).
    var header: String {
        entries.map { "\($0.0);dur=\(Self.milliseconds($0.1))" }.joined(separator: ", ")
    }

    static func milliseconds(_ seconds: Double) -> String {
        let hundredths = Int((max(0, min(seconds, 1e9)) * 100_000).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension HTTPField.Name {
    static let serverTiming = HTTPField.Name("Server-Timing")!
}
