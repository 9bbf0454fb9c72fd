import Hummingbird
import InferenceService

/// `Authorization: Bearer <key>` on every route but the open ones (health, and `/metrics` unless told
/// otherwise), checked by ``InferenceService/APIKeys`` (the gRPC endpoint makes the same check).
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: APIKeys
    /// Paths that need no key.
    let openPaths: Set<String>

    init(keys: [String], openPaths: Set<String>) {
        self.keys = APIKeys(keys)
        self.openPaths = openPaths
    }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty, !openPaths.contains(request.uri.path) else { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw Problem(.unauthorized, "this service needs an API key: send 'Authorization: Bearer <key>'",
                          headers: [.wwwAuthenticate: "Bearer realm=\"histoae\""])
        }
        guard keys.admits(authorization: header) else {
            throw Problem(.unauthorized, "the API key is not valid (expected 'Authorization: Bearer <key>')",
                          headers: [.wwwAuthenticate: "Bearer realm=\"histoae\", error=\"invalid_token\""])
        }
        return try await next(request, context)
    }
}
