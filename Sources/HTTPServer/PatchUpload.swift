import Hummingbird
import MultipartKit
import NIOCore

/// One uploaded patch, still encoded: the bytes of a PNG or JPEG and, for a multipart part, its filename.
struct UploadedPatch: Sendable {
    let name: String?
    let bytes: ByteBuffer
}

/// Reads a request body into patches: one `image/png` / `image/jpeg` body, or a `multipart/form-data` body
/// of repeated `patch` parts. Enforces the body-size limit (413) and the patch count (413), and refuses
/// other media types (415) and malformed multipart (400).
struct PatchUploadReader: Sendable {
    let maxBodyBytes: Int
    let maxPatches: Int

    /// The multipart field name of each patch.
    static let partName = "patch"
    static let imageTypes: Set<String> = ["image/png", "image/jpeg", "image/jpg"]

    func read(contentType: String?, contentLength: String?, body requestBody: RequestBody) async throws -> [UploadedPatch] {
        let contentType = contentType ?? ""
        let media = MediaTypeHeader(contentType)
        guard Self.imageTypes.contains(media.type) || media.type == "multipart/form-data" else {
            throw Problem(.unsupportedMediaType,
                          contentType.isEmpty ? "the request has no Content-Type; send image/png, image/jpeg or multipart/form-data"
                                              : "Content-Type \(media.type) is not accepted; send image/png, image/jpeg or multipart/form-data")
        }
        if let declared = contentLength.flatMap(Int.init), declared > maxBodyBytes {
            throw Problem(.contentTooLarge, "the body is \(declared) bytes; this server accepts at most \(maxBodyBytes)",
                          extra: ["limit_bytes": .int(maxBodyBytes)])
        }
        let body: ByteBuffer
        do { body = try await requestBody.collect(upTo: maxBodyBytes) } catch is NIOTooManyBytesError {
            throw Problem(.contentTooLarge, "the body is larger than \(maxBodyBytes) bytes, the most this server accepts",
                          extra: ["limit_bytes": .int(maxBodyBytes)])
        }
        if media.type != "multipart/form-data" {
            guard body.readableBytes > 0 else { throw Problem(.badRequest, "the request body is empty; send one PNG or JPEG patch") }
            return [UploadedPatch(name: nil, bytes: body)]
        }
        guard let boundary = media.parameters["boundary"], !boundary.isEmpty, boundary.utf8.count <= 200 else {
            throw Problem(.badRequest, "multipart/form-data needs a boundary parameter in Content-Type")
        }
        return try parseMultipart(body, boundary: boundary)
    }

    private func parseMultipart(_ body: ByteBuffer, boundary: String) throws -> [UploadedPatch] {
        let parser = MultipartParser(boundary: boundary)
        var patches: [UploadedPatch] = []
        var headers: [(String, String)] = []
        var content = ByteBuffer()
        var open = false
        var problem: Problem?
        parser.onHeader = { name, value in
            open = true
            headers.append((name.lowercased(), value))
        }
        parser.onBody = { chunk in content.writeBuffer(&chunk) }
        parser.onPartComplete = { [maxPatches] in
            defer { headers = []; content = ByteBuffer(); open = false }
            guard problem == nil else { return }
            let disposition = MediaTypeHeader(headers.last { $0.0 == "content-disposition" }?.1 ?? "")
            let fieldName = disposition.parameters["name"]
            guard disposition.type == "form-data", fieldName == Self.partName else {
                problem = Problem(.badRequest, "multipart part \(patches.count + 1) is named \(fieldName.map { "'\($0)'" } ?? "nothing"); every part must be a form-data field named '\(Self.partName)'")
                return
            }
            if let type = headers.last(where: { $0.0 == "content-type" })?.1 {
                let partType = MediaTypeHeader(type).type
                guard Self.imageTypes.contains(partType) || partType == "application/octet-stream" else {
                    problem = Problem(.unsupportedMediaType, "multipart part \(patches.count + 1) has Content-Type \(partType); parts must be image/png or image/jpeg")
                    return
                }
            }
            guard patches.count < maxPatches else {
                problem = Problem(.contentTooLarge, "more than \(maxPatches) patches in one request; send at most \(maxPatches) per request",
                                  extra: ["max_patches": .int(maxPatches)])
                return
            }
            guard content.readableBytes > 0 else {
                problem = Problem(.badRequest, "multipart part \(patches.count + 1) is empty")
                return
            }
            patches.append(UploadedPatch(name: disposition.parameters["filename"], bytes: content))
        }
        do { try parser.execute(body) } catch {
            throw Problem(.badRequest, "the multipart/form-data body is malformed (boundary \"\(boundary)\")")
        }
        if let problem { throw problem }
        if open { throw Problem(.badRequest, "the multipart/form-data body ends inside a part (no closing boundary)") }
        guard !patches.isEmpty else {
            throw Problem(.badRequest, "the multipart/form-data body holds no '\(Self.partName)' parts")
        }
        return patches
    }
}

/// A `Content-Type` or `Content-Disposition` value: the lowercased type and its `;`-separated parameters
/// (names lowercased, quotes removed).
struct MediaTypeHeader {
    let type: String
    let parameters: [String: String]

    init(_ value: String) {
        var pieces = Self.split(value)
        type = pieces.isEmpty ? "" : pieces.removeFirst().trimmingWhitespace().lowercased()
        var parameters: [String: String] = [:]
        for piece in pieces {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = piece[..<equals].trimmingWhitespace().lowercased()
            var raw = piece[piece.index(after: equals)...].trimmingWhitespace()
            if raw.count >= 2, raw.hasPrefix("\""), raw.hasSuffix("\"") {
                raw = String(raw.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
            }
            parameters[name] = raw
        }
        self.parameters = parameters
    }

    /// Splits on `;` outside double quotes.
    private static func split(_ value: String) -> [Substring] {
        var result: [Substring] = []
        var start = value.startIndex, quoted = false, index = value.startIndex
        while index < value.endIndex {
            let c = value[index]
            if c == "\"" { quoted.toggle() }
            if c == ";" && !quoted {
                result.append(value[start..<index])
                start = value.index(after: index)
            }
            index = value.index(after: index)
        }
        result.append(value[start...])
        return result
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
