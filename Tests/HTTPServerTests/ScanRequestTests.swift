import Foundation
@testable import HTTPServer
import ScanJobs
import Scoring
import Testing

/// `POST /v1/scans` bodies are read strictly (every refusal a 400 naming the field), and a wrong method on a
/// templated route (`/v1/scans/{id}`) is told apart from an unknown path.
struct ScanRequestTests {
    static func body(_ json: String) throws -> ScanJobBody { try ScanJobBody(json: Array(json.utf8)) }

    static func refusal(_ json: String) -> String? {
        do { _ = try body(json); return nil } catch let problem as Problem {
            return problem.status == .badRequest ? problem.detail : "status \(problem.status.code)"
        } catch { return "\(error)" }
    }

    @Test func aFullBodyBecomesTheParameters() throws {
        let parsed = try Self.body(#"{"slide": "a/b.svs", "stride": 75, "min_tissue": 0.25, "slide_mpp": 0.5, "method": "combined", "fpr": 0.001}"#)
        var expected = ScanParameters()
        expected.stride = 75
        expected.minTissue = 0.25
        expected.slideMPP = 0.5
        expected.method = .combined
        expected.threshold = .fpr(0.001)
        #expect(parsed.slide == "a/b.svs" && parsed.parameters == expected)
        let defaults = try Self.body(#"{"slide": "x.svs", "slide_mpp": null, "threshold": 0.9}"#)
        #expect(defaults.parameters.stride == 150 && defaults.parameters.slideMPP == nil && defaults.parameters.threshold == .threshold(0.9))
    }

    @Test func everyMalformedBodyIsA400NamingWhatIsWrong() {
        let cases: [(String, String)] = [
            (#"{"stride": 150}"#, "slide is required"),
            (#"{"slide": 17}"#, "slide must be"),
            (#"{"slide": null}"#, "slide must be"),
            (#"{"slide": "x", "stride": 1.5}"#, "stride must be a whole number"),
            (#"{"slide": "x", "stride": "150"}"#, "stride must be"),
            (#"{"slide": "x", "stride": true}"#, "stride must be"),
            (#"{"slide": "x", "stride": 1e300}"#, "stride must be"),
            (#"{"slide": "x", "stride": null}"#, "not null"),
            (#"{"slide": "x", "min_tissue": "half"}"#, "min_tissue must be"),
            (#"{"slide": "x", "method": "magic"}"#, "method must be one of"),
            (#"{"slide": "x", "threshold": 0.9, "fpr": 0.1}"#, "give one of them"),
            (#"{"slide": "x", "Stride": 75}"#, "unknown field 'Stride'"),
            (#"[{"slide": "x"}]"#, "JSON object"),
            (#""x.svs""#, "JSON object"),
            (#"{"slide": "x""#, "not valid JSON"),
            ("", "not valid JSON"),
        ]
        for (json, words) in cases {
            let detail = Self.refusal(json)
            #expect(detail?.contains(words) == true, "\(json): \(detail ?? "accepted")")
        }
    }

    @Test func rangesAreScanParametersOnes() {
        var parameters = ScanParameters()
        parameters.minTissue = 1.5
        #expect(throws: ScanJobError.self) { try parameters.validate() }
        parameters = ScanParameters()
        parameters.threshold = .fpr(-0.1)
        #expect { try parameters.validate() } throws: { "\($0)".hasPrefix("fpr: ") }
        parameters = ScanParameters()
        parameters.slideMPP = 0
        #expect { try parameters.validate() } throws: { "\($0)".hasPrefix("slide_mpp ") }
    }

    @Test func wrongMethodsOnTemplatedRoutesAreFound() {
        let routes = HistoAEServer.routes
        typealias Middleware = ProblemMiddleware<ServiceRequestContext>
        #expect(Middleware.methods(of: "/v1/scans/0c7d2a52-5a9e-4a5e-8a30-9f1f5c4d1e2b", in: routes) == [.get, .delete])
        #expect(Middleware.methods(of: "/v1/scans/anything/heatmap.png", in: routes) == [.get])
        #expect(Middleware.methods(of: "/v1/scans", in: routes)?.sorted { $0.rawValue < $1.rawValue } == [.get, .post])
        #expect(Middleware.methods(of: "/v1/scans//heatmap.png", in: routes) == nil)
        #expect(Middleware.methods(of: "/v1/scans/x/other.png", in: routes) == nil)
        #expect(Middleware.methods(of: "/v1/nothing", in: routes) == nil)
    }
}
