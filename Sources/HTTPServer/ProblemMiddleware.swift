import Hummingbird
import Logging
import InferenceService
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// How many requests reached the routes and how many got a response — equal after a clean drain.
public final class RequestLedger: Sendable {
    private let counts = NIOLockedValueBox((received: 0, answered: 0))
    public init() {}
    func receive() { counts.withLockedValue { $0.received += 1 } }
    func answer() { counts.withLockedValue { $0.answered += 1 } }
    public var received: Int { counts.withLockedValue { $0.received } }
    public var answered: Int { counts.withLockedValue { $0.answered } }
}

/// Outermost middleware: turns every error into an `application/problem+json` response (so no error path
/// answers an empty 500), then counts the request by route and status.
///
/// Metrics: `histoae_http_requests_total{route, method, status}` and `histoae_http_request_duration_seconds{route}`.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory
    /// Each route's path and methods, to answer a known path with a wrong method 405 (and `Allow`), not 404.
    let routes: [String: [HTTPRequest.Method]]
    let ledger: RequestLedger

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        ledger.receive()
        defer { ledger.answer() }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.problem(for: error, request: request, context: context, routes: routes)
        }
        let route = context.endpointPath ?? "unmatched"
        Counter(label: "histoae_http_requests_total",
                dimensions: [("route", route), ("method", request.method.rawValue), ("status", String(response.status.code))],
                factory: factory).increment()
        Metrics.Timer(label: "histoae_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordInterval(since: started)
        return response
    }

    static func problem(for error: any Error, request: Request, context: Context,
                        routes: [String: [HTTPRequest.Method]]) -> Response {
        let problem: Problem
        switch error {
        case let error as HTTPError where error.status == .notFound && methods(of: request.uri.path, in: routes) != nil:
            let allowed = methods(of: request.uri.path, in: routes)!.map(\.rawValue).joined(separator: ", ")
            problem = Problem(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); use \(allowed)",
                              headers: [.allow: allowed])
        case let error as Problem:
            problem = error
        case is NIOTooManyBytesError:
            problem = Problem(.contentTooLarge, "the request body is larger than this server accepts")
        case let error as HTTPError:
            let detail = error.body ?? (error.status == .notFound ? "no such endpoint: \(request.method) \(request.uri.path)"
                                                                  : error.status.reasonPhrase)
            problem = Problem(error.status, detail, headers: error.headers)
        case let error as any HTTPResponseError:
            problem = Problem(error.status, error.status.reasonPhrase)
        default:
            context.logger.error("internal error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            problem = Problem(.internalServerError, "an internal error occurred; it has been logged")
        }
        // The Open Inference Protocol's clients read the error from `error` (tritonclient fails on a body without it).
        return (request.uri.path.hasPrefix("/v2") ? problem.withProtocolError : problem).response
    }

    /// The methods of the route `path` matches: literally, or a template's `{name}` matching one non-empty
    /// path segment (`/v1/scans/{id}`).
    static func methods(of path: String, in routes: [String: [HTTPRequest.Method]]) -> [HTTPRequest.Method]? {
        if let methods = routes[path] { return methods }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return routes.first { template, _ in
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == segments.count && zip(parts, segments).allSatisfy { part, segment in
                part == segment || (part.hasPrefix("{") && part.hasSuffix("}") && !segment.isEmpty)
            }
        }?.value
    }
}

extension Metrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordSeconds(elapsed.seconds)
    }
}
