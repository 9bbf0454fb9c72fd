import Hummingbird
@testable import HTTPServer
import NIOCore
import Testing

/// The request-side pieces that need no server: header parsing, negotiation, multipart, key comparison.
struct RequestParsingTests {
    @Test func mediaTypeHeaderParsesQuotedParameters() {
        let header = MediaTypeHeader(#"form-data; name="patch"; filename="a;b \"c\".png""#)
        #expect(header.type == "form-data")
        #expect(header.parameters["name"] == "patch")
        #expect(header.parameters["filename"] == #"a;b "c".png"#)
        #expect(MediaTypeHeader("Multipart/Form-Data; BOUNDARY=xyz").parameters["boundary"] == "xyz")
    }

    @Test func acceptNegotiation() throws {
        #expect(try ResponseFormat.negotiate(nil, allowPNG: true) == .json)
        #expect(try ResponseFormat.negotiate("image/png", allowPNG: true) == .png)
        #expect(try ResponseFormat.negotiate("*/*", allowPNG: true) == .json)
        #expect(try ResponseFormat.negotiate("application/json;q=0.5, image/png", allowPNG: true) == .png)
        #expect(try ResponseFormat.negotiate("image/*, application/json", allowPNG: true) == .json)
        #expect(throws: Problem.self) { try ResponseFormat.negotiate("text/html", allowPNG: true) }
        #expect(throws: Problem.self) { try ResponseFormat.negotiate("image/png", allowPNG: false) }
    }

    @Test func apiKeysCompareWholeKeysOnly() {
        let keys = [Array("secret-1".utf8), Array("other".utf8)]
        #expect(APIKeyMiddleware<ServiceRequestContext>.matches(Array("secret-1".utf8), keys))
        #expect(APIKeyMiddleware<ServiceRequestContext>.matches(Array("other".utf8), keys))
        #expect(!APIKeyMiddleware<ServiceRequestContext>.matches(Array("secret-".utf8), keys))
        #expect(!APIKeyMiddleware<ServiceRequestContext>.matches(Array("secret-12".utf8), keys))
        #expect(!APIKeyMiddleware<ServiceRequestContext>.constantTimeEqual([], Array("x".utf8)))
    }

    @Test func multipartPartsComeBackInOrderWithNames() async throws {
        let body = "--B\r\nContent-Disposition: form-data; name=\"patch\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nAAA"
            + "\r\n--B\r\nContent-Disposition: form-data; name=\"patch\"\r\n\r\nBB\r\n--B--\r\n"
        let reader = PatchUploadReader(maxBodyBytes: 1 << 20, maxPatches: 4)
        let patches = try await reader.read(contentType: "multipart/form-data; boundary=B", contentLength: nil,
                                            body: RequestBody(buffer: ByteBuffer(string: body)))
        #expect(patches.map(\.name) == ["a.png", nil])
        #expect(patches.map { String(buffer: $0.bytes) } == ["AAA", "BB"])
    }

    @Test func multipartLimitsAndMalformedBodies() async throws {
        let part = "--B\r\nContent-Disposition: form-data; name=\"patch\"\r\n\r\nX\r\n"
        let reader = PatchUploadReader(maxBodyBytes: 1 << 20, maxPatches: 2)
        func status(_ text: String, type: String = "multipart/form-data; boundary=B") async -> Int? {
            do {
                _ = try await reader.read(contentType: type, contentLength: nil, body: RequestBody(buffer: ByteBuffer(string: text)))
                return nil
            } catch let problem as Problem { return Int(problem.status.code) } catch { return -1 }
        }
        #expect(await status(String(repeating: part, count: 3) + "--B--\r\n") == 413)
        #expect(await status(part) == 400)                                     // no closing boundary
        #expect(await status("--B--\r\n") == 400)                              // no parts
        #expect(await status(part + "--B--\r\n", type: "multipart/form-data") == 400)   // no boundary
        #expect(await status("X", type: "text/plain") == 415)
        #expect(await status(part.replacingOccurrences(of: "\"patch\"", with: "\"file\"") + "--B--\r\n") == 400)
        let tooBig = PatchUploadReader(maxBodyBytes: 1024, maxPatches: 2)
        do {
            _ = try await tooBig.read(contentType: "image/png", contentLength: nil,
                                      body: RequestBody(buffer: ByteBuffer(repeating: 0, count: 4096)))
            Issue.record("expected 413")
        } catch let problem as Problem { #expect(problem.status == .contentTooLarge) }
    }
}
