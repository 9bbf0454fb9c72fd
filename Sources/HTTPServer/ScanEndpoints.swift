import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import RequestParsing
import ScanJobs

/// The scan-job routes: `POST /v1/scans` (202 + `Location`), `GET /v1/scans` (newest first, in pages),
/// `GET /v1/scans/{id}`, `DELETE /v1/scans/{id}` (cancels a queued or running job: 200 with the job, now
/// `cancelled`; deletes a finished one with its results: 204), and the results `GET /v1/scans/{id}/tiles.csv`,
/// `tiles.geojson`, `heatmap.png`, `summary.json`, streamed from disk (409 until the job has succeeded).
///
/// Database reads and writes run on the codec threads, never on Swift's cooperative pool; the scans themselves
/// run on the ``ScanJobs/ScanJobRunner``'s threads. Without `--slide-root` every route answers 404 saying so.
///
/// ```swift
/// let scans = ScanEndpoints(runner: runner, codecPool: pool, bufferBudget: budget)
/// router.post("/v1/scans") { request, context in try await scans.create(request, context: context) }
/// ```
struct ScanEndpoints: Sendable {
    /// nil: scan jobs are off.
    let runner: ScanJobRunner?
    let codecPool: NIOThreadPool
    let bufferBudget: BufferBudget

    func create(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let runner = try enabled()
        let limit = ScanJobsConfiguration.maxRequestBytes
        let media = RequestParsing.MediaType(parsing: request.headers[.contentType] ?? "")
        guard media.type == "application/json" else {
            throw Problem(.unsupportedMediaType, "a scan is requested with a JSON body (Content-Type: application/json), got \(media.type.isEmpty ? "none" : media.type)")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw Problem(.contentTooLarge, "a scan request's body is at most \(limit) bytes, got \(length)",
                          extra: ["limit_bytes": .int(limit)])
        }
        let reservation = try bufferBudget.holdOrRefuse(limit)
        let bytes: ByteBuffer
        do { bytes = try await request.body.collect(upTo: limit) } catch is NIOTooManyBytesError {
            throw Problem(.contentTooLarge, "a scan request's body is at most \(limit) bytes", extra: ["limit_bytes": .int(limit)])
        }
        withExtendedLifetime(reservation) {}
        let body = try ScanJobBody(json: Array(buffer: bytes))
        let job = try await onCodecThread { try runner.submit(slide: body.slide, parameters: body.parameters) }
        let location = ScanJobView.path(of: job.id)
        return Self.json(try ScanJobView.json(ScanJobView(job)), status: .accepted, headers: [.location: location])
    }

    func list(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let runner = try enabled()
        let parameters = request.uri.queryParameters
        for (key, _) in parameters where !["limit", "before"].contains(String(key)) {
            throw Problem(.badRequest, "unknown query parameter \(ScanJobBody.quoted(String(key))); this endpoint takes before, limit")
        }
        let range = ScanJobsConfiguration.pageSizeRange
        var limit = ScanJobsConfiguration.defaultPageSize
        if let text = parameters.get("limit") {
            guard let value = Int(text), range.contains(value) else {
                throw Problem(.badRequest, "limit must be a whole number in \(range.lowerBound)...\(range.upperBound), got \(ScanJobBody.quoted(text))")
            }
            limit = value
        }
        let before = try parameters.get("before").map { text in
            guard let id = Self.jobID(text) else { throw Problem(.badRequest, "before must be a scan job id, got \(ScanJobBody.quoted(text))") }
            return id
        }
        let jobs: [ScanJob]
        let pageSize = limit
        do { jobs = try await onCodecThread { try runner.list(limit: pageSize, before: before) } } catch let problem as Problem where problem.status == .notFound {
            throw Problem(.badRequest, "before names no scan job (it may have been deleted): \(before ?? "")")
        }
        let next = jobs.count == limit ? "/v1/scans?limit=\(limit)&before=\(jobs[jobs.count - 1].id)" : nil
        return Self.json(try ScanJobView.json(list: jobs, next: next))
    }

    func get(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let runner = try enabled()
        let id = try Self.id(context)
        let job = try await onCodecThread { try runner.job(id: id) }
        return Self.json(try ScanJobView.json(ScanJobView(job)))
    }

    func delete(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let runner = try enabled()
        let id = try Self.id(context)
        let job = try await onCodecThread { try runner.job(id: id) }
        if job.state.isActive {
            let cancelled: ScanJob
            do { cancelled = try await runner.cancel(id: id) } catch { throw error.problem }
            return Self.json(try ScanJobView.json(ScanJobView(cancelled)))
        }
        let deleted = try await onCodecThread { try runner.delete(id: id) }
        guard deleted else {   // it was started meanwhile: cancel it next time
            throw Problem(.conflict, "scan job \(id) changed while it was being deleted; send DELETE again")
        }
        return Response(status: .noContent)
    }

    /// One of the four results of a succeeded job, streamed from its file on the codec threads.
    func result(_ name: String, contentType: String, _ request: Request, context: ServiceRequestContext) async throws -> Response {
        let runner = try enabled()
        let id = try Self.id(context)
        let file = try await onCodecThread { () throws -> URL in
            let url = try runner.result(id: id, name: name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw Problem(.notFound, "scan job \(id) has no \(name) any more (its results were removed)")
            }
            return url
        }
        let body: ResponseBody
        do { body = try await FileIO(threadPool: codecPool).loadFile(path: file.path, context: context) } catch {
            // Deleted between the check and the open (a DELETE meanwhile): a problem of its own, not the
            // router's 404, which the problem middleware would read as a wrong method.
            throw Problem(.notFound, "scan job \(id) has no \(name) any more (its results were removed)")
        }
        return Response(status: .ok, headers: [.contentType: contentType], body: body)
    }

    /// The paths and methods, as `openapi.yaml` lists them.
    static let routes: [String: [HTTPRequest.Method]] = [
        "/v1/scans": [.get, .post], "/v1/scans/{id}": [.get, .delete],
    ].merging(ScanJobView.results.map { ("/v1/scans/{id}/\($0.name)", [HTTPRequest.Method.get]) }) { first, _ in first }

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/v1/scans") { request, context in try await create(request, context: context) }
        router.get("/v1/scans") { request, context in try await list(request, context: context) }
        router.get("/v1/scans/{id}") { request, context in try await get(request, context: context) }
        router.delete("/v1/scans/{id}") { request, context in try await delete(request, context: context) }
        for (name, _, contentType) in ScanJobView.results {
            router.get("/v1/scans/{id}/\(name)") { request, context in
                try await result(name, contentType: contentType, request, context: context)
            }
        }
    }

    // MARK: Helpers

    private func enabled() throws -> ScanJobRunner {
        guard let runner else {
            throw Problem(.notFound, "scan jobs are not enabled on this server: it was started without a slide root (histoae serve --slide-root DIR --state-dir DIR, or HISTOAE_SLIDE_ROOT and HISTOAE_STATE_DIR)")
        }
        return runner
    }

    /// Runs a job-store access on the codec threads; its ``ScanJobError`` as a ``Problem``.
    private func onCodecThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do { return try await codecPool.runIfActive(body) } catch let error as ScanJobError { throw error.problem }
    }

    /// The `{id}` path parameter as a canonical (lower-case) job id; 404 for anything else.
    private static func id(_ context: ServiceRequestContext) throws -> String {
        let text = context.parameters.get("id") ?? ""
        guard let id = jobID(text) else { throw ScanJobError.notFound(id: text).problem }
        return id
    }

    static func jobID(_ text: String) -> String? { UUID(uuidString: text).map { $0.uuidString.lowercased() } }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension ScanJobError {
    /// The HTTP face of a scan-job refusal.
    var problem: Problem {
        switch self {
        case .invalidParameters: Problem(.badRequest, description)
        case .slide(let error): Problem(error.isMalformed ? .badRequest : .notFound, description)
        case .tooManyJobs(let limit):
            Problem(.tooManyRequests, description, extra: ["limit": .int(limit), "retry_after_seconds": 10],
                    headers: [.retryAfter: "10"])
        case .notFound: Problem(.notFound, description)
        case .notSucceeded(_, let state): Problem(.conflict, description, extra: ["state": .string(state.rawValue)])
        case .shuttingDown: Problem(.serviceUnavailable, description, headers: [.retryAfter: "1"])
        case .store: Problem(.internalServerError, description)
        }
    }
}
