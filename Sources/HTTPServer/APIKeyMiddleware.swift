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
        let presented = Self.bearerToken(header)
        guard !presented.isEmpty, Self.matches(presented, keys) else {
            throw Problem(.unauthorized, "the API key is not valid (expected 'Authorization: Bearer <key>')",
                          headers: [.wwwAuthenticate: "Bearer realm=\"histoae\", error=\"invalid_token\""])
        }
        return try await next(request, context)
    }

    /// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1), spaces around the
    /// token are not part of it. Empty for any other scheme.
    static func bearerToken(_ header: String) -> [UInt8] {
        let bytes = Array(header.utf8)
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count, bytes[scheme.count] == UInt8(ascii: " "),
              zip(bytes, scheme).allSatisfy({ $0 | 0x20 == $1 }) else { return [] }
        var token = bytes[(scheme.count + 1)...]
        while token.first == UInt8(ascii: " ") { token = token.dropFirst() }
        while token.last == UInt8(ascii: " ") { token = token.dropLast() }
        return Array(token)
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
