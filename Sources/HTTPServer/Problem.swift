import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// An RFC 9457 problem: every error the service answers is one of these, as `application/problem+json`
/// with a human-readable `detail`.
///
/// ```swift
/// throw Problem(.unprocessableContent, "patch 2 is 512×512; the model takes 150×150 patches",
///               extra: ["width": 512, "height": 512, "patch": 2])
/// ```
public struct Problem: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let detail: String
    /// Extra members (RFC 9457 §3.2): machine-readable facts such as the size received.
    public let extra: [String: ProblemValue]
    public let headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ detail: String, extra: [String: ProblemValue] = [:],
                headers: HTTPFields = [:]) {
        self.status = status
        self.detail = detail
        self.extra = extra
        self.headers = headers
    }

    public static let mediaType = "application/problem+json"

    /// The problem with the Open Inference Protocol's error member, `{"error": detail}`, beside RFC 9457's.
    var withProtocolError: Problem {
        Problem(status, detail, extra: extra.merging(["error": .string(detail)]) { _, new in new }, headers: headers)
    }

    /// The JSON body: `type`, `title`, `status`, `detail`, then the extra members.
    public var body: [UInt8] {
        var object: [String: Any] = ["type": "about:blank", "title": status.reasonPhrase, "status": status.code,
                                     "detail": detail]
        for (key, value) in extra { object[key] = value.json }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return [UInt8](data)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response { response }

    /// The `application/problem+json` response, with ``headers``.
    var response: Response {
        var fields = headers
        fields[.contentType] = Self.mediaType
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The response as HTTP parts that close the connection, for channel handlers that answer before any
    /// route runs (``RequestPhaseHandler``).
    func responseParts() -> [HTTPResponsePart] {
        let body = self.body
        var fields = headers
        fields[.contentType] = Self.mediaType
        fields[.contentLength] = String(body.count)
        fields[.connection] = "close"
        return [.head(HTTPResponse(status: status, headerFields: fields)), .body(ByteBuffer(bytes: body)), .end(nil)]
    }

    /// The response as raw HTTP/1.1 bytes that close the connection, for the handler below the HTTP codec
    /// (``ConnectionGuard``).
    func rawResponse() -> [UInt8] {
        let body = self.body
        var head = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Type: \(Self.mediaType)\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n"
        for field in headers { head += "\(field.name.canonicalName): \(field.value)\r\n" }
        return Array((head + "\r\n").utf8) + body
    }
}

/// A JSON scalar for ``Problem/extra``.
public enum ProblemValue: Sendable, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    case int(Int)
    case string(String)

    public init(integerLiteral value: Int) { self = .int(value) }
    public init(stringLiteral value: String) { self = .string(value) }

    var json: Any {
        switch self {
        case .int(let value): value
        case .string(let value): value
        }
    }
}
