import Foundation
import HTTPTypes
import Hummingbird

/// The answers of the viewer's routes: a file with its validator and the page's security headers, `304 Not
/// Modified` when the browser already holds it, or a `404` problem.
///
/// ```swift
/// try ViewerResponses.file(named: "app.js", ifNoneMatch: request.headers[.ifNoneMatch])
/// ```
enum ViewerResponses {
    /// Scripts, styles, connections and images from this server only; no inline script or style, no eval
    /// (`'unsafe-*'` is never granted), no plugins, no framing, no form posts, no `<base>` rewrites; string-to-DOM
    /// sinks refused (Trusted Types: the scripts build the DOM node by node). `blob:` images are the panels the
    /// page fetched with its API key and shows from memory.
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob:", "connect-src 'self'",
        "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'", "require-trusted-types-for 'script'",
    ].joined(separator: "; ")

    /// On every viewer answer, the problems included: a browser must not guess another type, leak the page's
    /// address to other sites, or show the page in someone else's frame (clickjacking).
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: contentSecurityPolicy,
        .xContentTypeOptions: "nosniff",
        .referrerPolicy: "no-referrer",
        .xFrameOptions: "DENY",
    ]

    /// Revalidate before every use: the URLs carry no version, so a cached copy must not outlive an upgrade;
    /// the check costs a `304` of no body.
    static let cacheControl = "no-cache"

    /// The file `name` (one of ``ViewerAssets/named``), or `304` when `ifNoneMatch` names its tag.
    /// - Throws: a `404` ``Problem`` for any other name.
    static func file(named name: String, ifNoneMatch: String?) throws -> Response {
        guard let asset = ViewerAssets.named[name] else {
            throw Problem(.notFound, "the viewer has no file of that name; it serves \(ViewerAssets.names.joined(separator: ", "))",
                          headers: securityHeaders)
        }
        var headers = securityHeaders
        headers[.eTag] = asset.etag
        headers[.cacheControl] = cacheControl
        if let ifNoneMatch, matches(ifNoneMatch, etag: asset.etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.body))
    }

    /// Whether an `If-None-Match` value names `etag`: `*`, or a comma-separated list of entity tags compared
    /// weakly (RFC 9110 §13.1.2: a `W/` prefix is ignored).
    static func matches(_ ifNoneMatch: String, etag: String) -> Bool {
        ifNoneMatch.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }
}

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
}
