import Hummingbird
import NIOCore
import RequestParsing

/// One uploaded patch, still encoded: the bytes of a PNG or JPEG and, for a multipart part, its filename.
struct UploadedPatch: Sendable {
    let name: String?
    let bytes: ByteBuffer
}

/// A request body held in memory, with the share of ``BufferBudget`` it holds until ``release()``.
struct ReceivedBody: Sendable {
    let bytes: ByteBuffer
    let media: RequestParsing.MediaType
    fileprivate let reserved: Int
    fileprivate let budget: BufferBudget

    /// Gives the body's bytes back to the budget (once the request is answered).
    func release() { budget.release(reserved) }
}

/// Reads a request body into patches: one `image/png` / `image/jpeg` body, or a `multipart/form-data` body
/// of repeated `patch` parts. The body is received under the limits (413 over the body limit, 503 when the
/// server holds too many bodies at once, 408 when it stops arriving or outlives the request's deadline) by
/// ``receive(contentType:contentLength:body:deadline:channel:)``; ``split(_:)`` then parses it — on a codec
/// thread, never the cooperative pool — refusing other media types (415) and malformed multipart (400).
struct PatchUploadReader: Sendable {
    let maxBodyBytes: Int
    let maxPatches: Int
    let budget: BufferBudget

    /// The multipart field name of each patch.
    static let partName = "patch"
    static let imageTypes: Set<String> = ["image/png", "image/jpeg", "image/jpg"]

    /// Checks the media type, then receives the whole body.
    ///
    /// - Parameter deadline: when the upload must be complete; `channel` carries the timeout into the body stream.
    /// - Parameter anyMediaType: take any Content-Type (the Open Inference Protocol's routes, whose body is
    ///   JSON optionally followed by binary tensor data, whatever the client labels it).
    func receive(contentType: String?, contentLength: String?, body: RequestBody,
                 deadline: (instant: ContinuousClock.Instant, milliseconds: Int)? = nil,
                 channel: (any Channel)? = nil, anyMediaType: Bool = false) async throws -> ReceivedBody {
        let media = anyMediaType ? RequestParsing.MediaType(parsing: contentType ?? "") : try Self.mediaType(contentType)
        var declared: Int?
        if let contentLength {
            guard let length = Int(contentLength), length >= 0 else {
                throw Problem(.badRequest, "Content-Length '\(contentLength)' is not a byte count")
            }
            guard length <= maxBodyBytes else { throw tooLarge(length) }
            declared = length
        }
        // Reserve the declared length up front; a chunked body reserves as its chunks come.
        var reserved = 0
        if let declared {
            guard budget.reserve(declared) else { throw busy() }
            reserved = declared
        }
        var timer: Scheduled<Void>?
        if let deadline, let channel {
            let error = RequestTimeout.upload(milliseconds: deadline.milliseconds)
            let delay = deadline.instant - ContinuousClock.now
            timer = channel.eventLoop.scheduleTask(in: TimeAmount(max(delay, .zero))) {
                // Only a body still arriving is late: one that has fully arrived (its bytes waiting for this
                // task) goes on, and the deadline is checked again before the patches are queued.
                let connectionGuard = try? channel.pipeline.syncOperations.handler(type: ConnectionGuard.self)
                if connectionGuard?.isReceivingBody ?? true { channel.pipeline.fireErrorCaught(error) }
            }
        }
        defer { timer?.cancel() }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(declared ?? 0)
        do {
            for try await chunk in body {
                let total = buffer.readableBytes + chunk.readableBytes
                guard total <= maxBodyBytes else { throw tooLarge(nil) }
                if total > reserved {
                    guard budget.reserve(total - reserved) else { throw busy() }
                    reserved = total
                }
                buffer.writeImmutableBuffer(chunk)
            }
        } catch let timeout as RequestTimeout {
            budget.release(reserved)
            // The request's own deadline is a 504 wherever it passes, as after the upload; a body that fell
            // silent (the connection's read timeout) is a 408.
            if case .upload = timeout { throw Problem(.gatewayTimeout, timeout.description) }
            throw Problem(.requestTimeout, timeout.description)
        } catch {
            budget.release(reserved)
            throw error
        }
        return ReceivedBody(bytes: buffer, media: media, reserved: reserved, budget: budget)
    }

    /// The patches of a received body (CPU work: run it on a codec thread).
    func split(_ body: ReceivedBody) throws -> [UploadedPatch] {
        if body.media.type != "multipart/form-data" {
            guard body.bytes.readableBytes > 0 else {
                throw Problem(.badRequest, "the request body is empty; send one PNG or JPEG patch")
            }
            return [UploadedPatch(name: nil, bytes: body.bytes)]
        }
        guard let boundary = body.media.parameters["boundary"] else {
            throw Problem(.badRequest, "multipart/form-data needs a boundary parameter in Content-Type")
        }
        let limits = MultipartLimits(maxParts: maxPatches)
        // ByteBuffer's accessor rethrows untyped errors: carry the typed one out in a Result.
        let parsed = body.bytes.withUnsafeReadableBytes { bytes in
            Result { () throws(MultipartError) -> [MultipartPart] in try MultipartReader.parse(bytes, boundary: boundary, limits: limits) }
        }
        let parts: [MultipartPart]
        switch parsed {
        case .success(let value):
            parts = value
        case .failure(.tooManyParts):
            throw Problem(.contentTooLarge, "more than \(maxPatches) patches in one request; send at most \(maxPatches) per request",
                          extra: ["max_patches": .int(maxPatches)])
        case .failure(let error):
            throw Problem(.badRequest, "the multipart/form-data body is malformed: \(error.description)")
        }
        return try parts.enumerated().map { index, part in try patch(part, number: index + 1, in: body.bytes) }
    }

    private func patch(_ part: MultipartPart, number: Int, in body: ByteBuffer) throws -> UploadedPatch {
        let disposition = RequestParsing.MediaType(parsing: part.field("content-disposition") ?? "")
        let fieldName = disposition.parameters["name"]
        guard disposition.type == "form-data", fieldName == Self.partName else {
            throw Problem(.badRequest, "multipart part \(number) is named \(fieldName.map { "'\($0)'" } ?? "nothing"); every part must be a form-data field named '\(Self.partName)'")
        }
        if let type = part.field("content-type") {
            let partType = RequestParsing.MediaType(parsing: type).type
            guard Self.imageTypes.contains(partType) || partType == "application/octet-stream" else {
                throw Problem(.unsupportedMediaType, "multipart part \(number) has Content-Type \(partType); parts must be image/png or image/jpeg")
            }
        }
        guard !part.content.isEmpty else { throw Problem(.badRequest, "multipart part \(number) is empty") }
        let bytes = body.getSlice(at: body.readerIndex + part.content.lowerBound, length: part.content.count)!
        return UploadedPatch(name: disposition.parameters["filename"], bytes: bytes)
    }

    /// The request's media type, if it is one a patch endpoint takes (415 otherwise).
    static func mediaType(_ contentType: String?) throws -> RequestParsing.MediaType {
        let contentType = contentType ?? ""
        let media = RequestParsing.MediaType(parsing: contentType)
        guard imageTypes.contains(media.type) || media.type == "multipart/form-data" else {
            throw Problem(.unsupportedMediaType,
                          contentType.isEmpty ? "the request has no Content-Type; send image/png, image/jpeg or multipart/form-data"
                                              : "Content-Type \(media.type) is not accepted; send image/png, image/jpeg or multipart/form-data")
        }
        return media
    }

    private func tooLarge(_ declared: Int?) -> Problem {
        Problem(.contentTooLarge, declared.map { "the body is \($0) bytes; this server accepts at most \(maxBodyBytes)" }
                    ?? "the body is larger than \(maxBodyBytes) bytes, the most this server accepts",
                extra: ["limit_bytes": .int(maxBodyBytes)])
    }

    private func busy() -> Problem {
        Problem(.serviceUnavailable, "the server holds \(budget.limit) bytes of uploads at once, its limit; retry shortly",
                extra: ["limit_bytes": .int(budget.limit)], headers: [.retryAfter: "1"])
    }
}
