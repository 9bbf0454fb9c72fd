import Foundation
@testable import HTTPServer
import Hummingbird
import Testing

/// The browser viewer as the binary serves it: the embedded copy is `viewer/` byte for byte, every file has its
/// type and validator, conditional GETs answer 304, unknown names 404, and every answer carries the page's
/// security headers.
struct ViewerAssetsTests {
    static let viewerFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("viewer")

    @Test func embeddedFilesAreTheViewerFolderByteForByte() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.viewerFolder.path).sorted()
        #expect(ViewerEmbeddedFiles.files.map(\.name).sorted() == names, "run scripts/embed-viewer.sh")
        for embedded in ViewerEmbeddedFiles.files {
            let file = try Data(contentsOf: Self.viewerFolder.appendingPathComponent(embedded.name))
            let same = Array(embedded.text.utf8) == Array(file)   // bytes: String's == ignores Unicode normalization
            #expect(same, "viewer/\(embedded.name) differs from the embedded copy: run scripts/embed-viewer.sh")
        }
    }

    @Test func everyFileHasItsMediaTypeAndTheirTagsDiffer() throws {
        #expect(ViewerAssets.named[ViewerAssets.pageName]?.contentType == "text/html; charset=utf-8")
        #expect(ViewerAssets.named["app.js"]?.contentType == "text/javascript; charset=utf-8")
        #expect(ViewerAssets.named["style.css"]?.contentType == "text/css; charset=utf-8")
        #expect(ViewerAssets.named["icon.svg"]?.contentType == "image/svg+xml")
        for asset in ViewerAssets.named.values {
            #expect(asset.contentType != "application/octet-stream", "\(asset.name) has no known media type")
            #expect(asset.body.readableBytes == asset.body.getString(at: 0, length: asset.body.readableBytes)?.utf8.count)
        }
        let tags = ViewerAssets.named.values.map(\.etag)
        #expect(Set(tags).count == tags.count)
        #expect(tags.allSatisfy { $0.utf8.count == 18 && $0.hasPrefix("\"") && $0.hasSuffix("\"") })
    }

    @Test func entityTagsAreFNV1aOfTheBytes() {
        // Published FNV-1a 64 test vectors.
        #expect(ViewerAsset.hexFNV1a("".utf8) == "cbf29ce484222325")
        #expect(ViewerAsset.hexFNV1a("a".utf8) == "af63dc4c8601ec8c")
        #expect(ViewerAsset.hexFNV1a("foobar".utf8) == "85944171f73967e8")
        #expect(ViewerAsset(name: "x.js", text: "a").etag == "\"af63dc4c8601ec8c\"")
    }

    @Test func thePageComesWithItsSecurityHeadersAndValidator() throws {
        let response = try ViewerResponses.file(named: "index.html", ifNoneMatch: nil)
        let page = try #require(ViewerAssets.named["index.html"])
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "text/html; charset=utf-8")
        #expect(response.headers[.eTag] == page.etag)
        #expect(response.headers[.cacheControl] == "no-cache")
        #expect(response.headers[.xContentTypeOptions] == "nosniff")
        #expect(response.headers[.referrerPolicy] == "no-referrer")
        #expect(response.headers[.xFrameOptions] == "DENY")
        let policy = try #require(response.headers[.contentSecurityPolicy])
        let directives = Dictionary(uniqueKeysWithValues: policy.split(separator: ";").map { directive in
            let words = directive.split(separator: " ").map(String.init)
            return (words[0], Array(words.dropFirst()))
        })
        #expect(directives["default-src"] == ["'none'"])
        #expect(directives["script-src"] == ["'self'"])
        #expect(directives["style-src"] == ["'self'"])
        #expect(directives["connect-src"] == ["'self'"])
        #expect(directives["frame-ancestors"] == ["'none'"])
        #expect(!policy.contains("unsafe"))
    }

    @Test func aMatchingIfNoneMatchAnswers304WithTheSameHeaders() throws {
        let asset = try #require(ViewerAssets.named["app.js"])
        for header in [asset.etag, "W/\(asset.etag)", "\"other\", \(asset.etag)", " \"x\" ,W/\(asset.etag) ", "*"] {
            let response = try ViewerResponses.file(named: "app.js", ifNoneMatch: header)
            #expect(response.status == .notModified, "If-None-Match: \(header)")
            #expect(response.headers[.eTag] == asset.etag)
            #expect(response.headers[.cacheControl] == "no-cache")
            #expect(response.headers[.contentSecurityPolicy] == ViewerResponses.contentSecurityPolicy)
        }
        for header in ["\"other\"", "", "W/\"\(asset.etag)\"", asset.etag.dropLast() + "0\""] {
            #expect(try ViewerResponses.file(named: "app.js", ifNoneMatch: String(header)).status == .ok,
                    "If-None-Match: \(header)")
        }
    }

    @Test func onlyTheEmbeddedNamesAreServed() throws {
        for name in ["", "../openapi.yaml", "..", "app.js/", "APP.JS", "app.js%00", "index.html.bak", "viewer/app.js"] {
            let error = #expect(throws: Problem.self, "\(name)") { try ViewerResponses.file(named: name, ifNoneMatch: nil) }
            #expect(error?.status == .notFound)
            #expect(error?.headers[.xContentTypeOptions] == "nosniff")
            #expect(error?.detail.contains("api.js, app.js") == true, "the detail lists the files served")
        }
        let error = #expect(throws: Problem.self) { try ViewerResponses.file(named: "<script>.js", ifNoneMatch: nil) }
        #expect(error?.detail.contains("<script>") == false, "the detail never echoes the name asked for")
    }

    @Test func theRoutesAreInTheServersRouteTable() {
        // The table answers a wrong method 405 and is checked against openapi.yaml (OpenAPIDocumentTests).
        for (path, methods) in ViewerRoutes.routes {
            #expect(HistoAEServer.routes[path] == methods, "\(path) missing from HistoAEServer.routes")
        }
    }
}
