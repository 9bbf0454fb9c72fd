import Hummingbird
@testable import HTTPServer
import NIOCore
import Testing

/// The request-side pieces that need no server: uploads, negotiation, key parsing, the response budget.
struct PatchUploadTests {
    func reader(maxBody: Int = 1 << 20, maxPatches: Int = 2, budget: Int = 1 << 24) -> PatchUploadReader {
        PatchUploadReader(maxBodyBytes: maxBody, maxPatches: maxPatches, budget: BufferBudget(limit: budget))
    }

    /// The status a body is refused with, or nil when it is read and split.
    func status(_ text: String, type: String = "multipart/form-data; boundary=B", length: String? = nil,
                reader: PatchUploadReader? = nil) async -> Int? {
        let reader = reader ?? self.reader()
        do {
            let body = try await reader.receive(contentType: type, contentLength: length,
                                                body: RequestBody(buffer: ByteBuffer(string: text)))
            defer { body.release() }
            _ = try reader.split(body)
            return nil
        } catch let problem as Problem { return Int(problem.status.code) } catch { return -1 }
    }

    @Test func multipartPartsComeBackInOrderWithNames() async throws {
        let text = "--B\r\nContent-Disposition: form-data; name=\"patch\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nAAA"
            + "\r\n--B\r\nContent-Disposition: form-data; name=\"patch\"\r\n\r\nBB\r\n--B--\r\n"
        let reader = self.reader()
        let body = try await reader.receive(contentType: "multipart/form-data; boundary=B", contentLength: nil,
                                            body: RequestBody(buffer: ByteBuffer(string: text)))
        let patches = try reader.split(body)
        #expect(patches.map(\.name) == ["a.png", nil])
        #expect(patches.map { String(buffer: $0.bytes) } == ["AAA", "BB"])
    }

    @Test func multipartLimitsAndMalformedBodies() async {
        let part = "--B\r\nContent-Disposition: form-data; name=\"patch\"\r\n\r\nX\r\n"
        #expect(await status(String(repeating: part, count: 3) + "--B--\r\n") == 413)
        #expect(await status(part) == 400)                                     // no closing boundary
        #expect(await status("--B\r\n\r\nAAAA") == 400)                        // cut inside a part without headers
        #expect(await status("--B--\r\n") == 400)                              // no parts
        #expect(await status(part + "--B--\r\n", type: "multipart/form-data") == 400)   // no boundary
        #expect(await status("--B\r\n\u{FF}X: y\r\n\r\nA\r\n--B--") == 400)  // MultipartKit 4.7.1 trapped here
        #expect(await status("X", type: "text/plain") == 415)
        #expect(await status(part.replacingOccurrences(of: "\"patch\"", with: "\"file\"") + "--B--\r\n") == 400)
        #expect(await status(String(repeating: "\r", count: 1 << 16), type: "multipart/form-data; boundary=B") == 400)
    }

    @Test func bodyLimitIsCheckedFromContentLengthAndWhileReading() async {
        let small = reader(maxBody: 1024)
        #expect(await status(String(repeating: "x", count: 4096), type: "image/png", reader: small) == 413)
        #expect(await status("x", type: "image/png", length: "4096", reader: small) == 413)
        #expect(await status("x", type: "image/png", length: "-1", reader: small) == 400)
        #expect(await status("", type: "image/png", reader: small) == 400)
    }

    @Test func bodiesHeldAtOnceAreBounded() async throws {
        let budget = BufferBudget(limit: 3000)
        let reader = PatchUploadReader(maxBodyBytes: 2048, maxPatches: 2, budget: budget)
        let first = try await reader.receive(contentType: "image/png", contentLength: "2000",
                                             body: RequestBody(buffer: ByteBuffer(repeating: 1, count: 2000)))
        #expect(budget.inUse == 2000)
        #expect(await status("x", type: "image/png", length: "1500", reader: reader) == 503)
        #expect(await status(String(repeating: "y", count: 1500), type: "image/png", reader: reader) == 503)  // chunked
        #expect(budget.inUse == 2000)  // refusals give back what they took
        first.release()
        #expect(budget.inUse == 0)
        #expect(await status("x", type: "image/png", length: "1", reader: reader) == nil)
        #expect(budget.inUse == 0)
    }

    @Test func acceptNegotiation() throws {
        #expect(try ResponseFormat.negotiate(nil, allowPNG: true) == .json)
        #expect(try ResponseFormat.negotiate("image/png", allowPNG: true) == .png)
        #expect(try ResponseFormat.negotiate("*/*", allowPNG: true) == .json)
        #expect(try ResponseFormat.negotiate("application/json;q=0.5, image/png", allowPNG: true) == .png)
        #expect(try ResponseFormat.negotiate("image/*, application/json", allowPNG: true) == .json)
        #expect(try ResponseFormat.negotiate("image/*;q=0.9, image/png;q=0, application/json;q=0.1", allowPNG: true) == .json)
        #expect(throws: Problem.self) { try ResponseFormat.negotiate("text/html", allowPNG: true) }
        #expect(throws: Problem.self) { try ResponseFormat.negotiate("image/png", allowPNG: false) }
    }

    @Test func responseBudgetRefusesArrayMapsBeforeWork() throws {
        var query = PatchQuery()
        query.maps = .array
        let budget = ResponseBudget(limit: 64 << 20)
        let allowed = budget.maxPatches(query: query, detail: .full)
        #expect(allowed > 8 && allowed < 256)
        #expect(throws: Never.self) { try budget.check(patches: allowed, query: query, detail: .full) }
        #expect(throws: Problem.self) { try budget.check(patches: allowed + 1, query: query, detail: .full) }
        // Scores alone never come near it at the default patch limit.
        #expect(budget.maxPatches(query: query, detail: .score) >= 256)
    }
}
