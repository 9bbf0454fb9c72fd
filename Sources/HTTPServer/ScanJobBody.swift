import Foundation
import ScanJobs
import Scoring

/// The JSON body of `POST /v1/scans`, read strictly: an object with `slide` (a path relative to the server's
/// slide root) and, each optional, `stride`, `min_tissue`, `slide_mpp` (a number or null), `method`, and one of
/// `threshold` or `fpr`. An unknown field, a field of the wrong JSON type, `null` where a value is needed, or
/// both `threshold` and `fpr` are 400 naming the field; ranges are ``ScanJobs/ScanParameters``'s (those of
/// `histoae scan`).
///
/// ```swift
/// let body = try ScanJobBody(json: Array(#"{"slide": "cmu-1.svs", "stride": 75, "fpr": 0.001}"#.utf8))
/// body.slide                     // "cmu-1.svs"
/// body.parameters.threshold      // .fpr(0.001)
/// ```
struct ScanJobBody: Decodable {
    let slide: String
    let parameters: ScanParameters

    static let fields = ["slide", "stride", "min_tissue", "slide_mpp", "method", "threshold", "fpr"]

    /// - Throws: ``Problem`` 400 with one sentence.
    init(json bytes: [UInt8]) throws {
        do {
            self = try JSONDecoder().decode(Self.self, from: Data(bytes))
        } catch let problem as Problem {
            throw problem
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw Problem(.badRequest, "the body must be a JSON object such as {\"slide\": \"case-17.svs\"}")
        } catch {
            throw Problem(.badRequest, "the body is not valid JSON")
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys where !Self.fields.contains(key.stringValue) {
            throw Problem(.badRequest, "unknown field \(ScanJobBody.quoted(key.stringValue)); a scan takes \(Self.fields.joined(separator: ", "))")
        }
        func value<T: Decodable>(_ name: String, _ type: T.Type, _ expected: String, nullable: Bool = false) throws -> T? {
            let key = Key(name)
            guard container.contains(key) else { return nil }
            if try container.decodeNil(forKey: key) {
                guard nullable else { throw Problem(.badRequest, "\(name) must be \(expected), not null") }
                return nil
            }
            do { return try container.decode(T.self, forKey: key) } catch {
                throw Problem(.badRequest, "\(name) must be \(expected)")
            }
        }
        guard let slide = try value("slide", String.self, "a path relative to the slide root") else {
            throw Problem(.badRequest, "slide is required: the slide's path relative to the server's slide root")
        }
        self.slide = slide
        var parameters = ScanParameters()
        if let stride = try value("stride", Int.self, "a whole number of model pixels") { parameters.stride = stride }
        if let minTissue = try value("min_tissue", Double.self, "a fraction in [0, 1]") { parameters.minTissue = minTissue }
        parameters.slideMPP = try value("slide_mpp", Double.self, "a positive number of µm per pixel, or null", nullable: true)
        if let method = try value("method", String.self, "a string") {
            guard let known = ScoreMethod(rawValue: method) else {
                throw Problem(.badRequest, "method must be one of \(ScoreMethod.allCases.map(\.rawValue).joined(separator: ", ")), got \(ScanJobBody.quoted(method))")
            }
            parameters.method = known
        }
        let threshold = try value("threshold", Double.self, "a number in [0, 1]")
        let fpr = try value("fpr", Double.self, "a number in [0, 1]")
        switch (threshold, fpr) {
        case (.some, .some): throw Problem(.badRequest, "threshold and fpr say the same thing (threshold = 1 − fpr); give one of them")
        case (let value?, nil): parameters.threshold = .threshold(value)
        case (nil, let value?): parameters.threshold = .fpr(value)
        case (nil, nil): break
        }
        self.parameters = parameters
    }

    private struct Key: CodingKey {
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// A client's string quoted back, at most 80 characters.
    static func quoted(_ text: String) -> String {
        "'\(text.count > 80 ? text.prefix(77) + "..." : text)'"
    }
}
