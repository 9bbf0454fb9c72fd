import Hummingbird

/// `Authorization: Bearer <key>` on every route but the open ones (health, and `/metrics` unless told
/// otherwise). Keys are compared in constant time and never logged.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Each key's bytes.
    let keys: [[UInt8]]
    /// Paths that need no key.
    let openPaths: Set<String>

    init(keys: [String], openPaths: Set<String>) {
        self.keys = keys.map { Array($0.utf8) }
        self.openPaths = openPaths
    }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty, !openPaths.contains(request.uri.path) else { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw Problem(.unauthorized, "this service needs an API key: send 'Authorization: Bearer <key>'",
                          headers: [.wwwAuthenticate: "Bearer realm=\"histoae\""])
        }
        let prefix = "Bearer "
        let presented = header.hasPrefix(prefix) ? Array(header.utf8.dropFirst(prefix.utf8.count)) : []
        guard !presented.isEmpty, Self.matches(presented, keys) else {
            throw Problem(.unauthorized, "the API key is not valid (expected 'Authorization: Bearer <key>')",
                          headers: [.wwwAuthenticate: "Bearer realm=\"histoae\", error=\"invalid_token\""])
        }
        return try await next(request, context)
    }

    /// Compares against every key, each in time independent of where the bytes differ.
    static func matches(_ presented: [UInt8], _ keys: [[UInt8]]) -> Bool {
        var found = false
        for key in keys { found = constantTimeEqual(presented, key) || found }
        return found
    }

    /// Time depends on the lengths only, never on the contents.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | (a.count == b.count ? 0 : 1)
        let length = max(a.count, b.count)
        for i in 0..<length {
            let x = i < a.count ? a[i] : 0, y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
