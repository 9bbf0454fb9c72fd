import NIOCore

/// One file of the browser viewer as served: its bytes (embedded in the binary), content type and entity tag.
struct ViewerAsset: Sendable {
    let name: String
    let contentType: String
    let body: ByteBuffer
    /// A strong validator of the bytes (`"` + 16 hex digits of their FNV-1a hash + `"`): the same file gives
    /// the same tag in every build, and any change to it gives another, so `If-None-Match` revalidation works
    /// across restarts and upgrades.
    let etag: String

    init(name: String, text: String) {
        self.name = name
        contentType = Self.contentType(of: name)
        body = ByteBuffer(string: text)
        etag = "\"" + Self.hexFNV1a(text.utf8) + "\""
    }

    /// The media type of a viewer file by its extension; `scripts/embed-viewer.sh` embeds no other kind.
    /// JavaScript must be `text/javascript`: browsers refuse module scripts of any other type under `nosniff`.
    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last {
        case "html": "text/html; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        default: "application/octet-stream"
        }
    }

    /// 64-bit FNV-1a as 16 lowercase hex digits: a cache validator, not a security hash (the bytes are public).
    static func hexFNV1a(_ bytes: some Sequence<UInt8>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// The viewer's files by name (from ``ViewerEmbeddedFiles``, generated from `viewer/`). A request can only
/// name one of these: there is no file system behind the route, so no path can reach anything else.
///
/// ```swift
/// ViewerAssets.named["app.js"]?.contentType     // "text/javascript; charset=utf-8"
/// ViewerAssets.named[ViewerAssets.pageName]      // the page, served at GET /
/// ```
enum ViewerAssets {
    static let named: [String: ViewerAsset] = Dictionary(
        ViewerEmbeddedFiles.files.map { ($0.name, ViewerAsset(name: $0.name, text: $0.text)) },
        uniquingKeysWith: { first, _ in first })

    /// The page itself, served at `GET /` (`scripts/embed-viewer.sh` refuses a `viewer/` without it).
    static let pageName = "index.html"

    /// Every served file name, sorted (for messages).
    static var names: [String] { named.keys.sorted() }
}
