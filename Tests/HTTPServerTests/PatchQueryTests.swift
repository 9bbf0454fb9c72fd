import AutoencoderModel
import Foundation
import Hummingbird
@testable import HTTPServer
import Scoring
import Testing

/// The patch endpoints' query: `threshold=` / `fpr=` (one of them, a decimal in [0, 1]) and `image=stain`; and
/// the response budget, which charges each patch for the three maps it may carry.
struct PatchQueryTests {
    /// The query of `text` (`/path?k=v&…`), percent-decoded as the server decodes it.
    func query(_ text: String, allowed: Set<String> = PatchQuery.reconstructKeys) throws -> PatchQuery {
        let query = text.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
        let pairs = query.split(separator: "&").map { item -> (key: Substring, value: Substring) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                Substring($0.removingPercentEncoding ?? String($0))
            }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
        return try PatchQuery(Parameters(pairs), allowed: allowed)
    }

    func status(_ text: String, allowed: Set<String> = PatchQuery.reconstructKeys) -> Int? {
        do { _ = try query(text, allowed: allowed); return nil } catch let problem as Problem {
            return Int(problem.status.code)
        } catch { return -1 }
    }

    @Test func thresholdOrFalsePositiveRate() throws {
        #expect(try query("/v1/score").threshold == .default)
        #expect(try query("/v1/score?threshold=0.999", allowed: PatchQuery.scoreKeys).threshold == .threshold(0.999))
        #expect(try query("/v1/score?fpr=1e-3", allowed: PatchQuery.scoreKeys).threshold == .fpr(0.001))
        #expect(try query("/v1/reconstruct?fpr=0&maps=none").threshold == .fpr(0))
        #expect(try query("/v1/reconstruct?threshold=1").threshold == .threshold(1))
    }

    @Test(arguments: ["threshold=0.9&fpr=0.1", "fpr=1.5", "threshold=-0.1", "fpr=nan", "threshold=inf", "fpr=0x1p-3",
                      "fpr=", "threshold=0.5abc", "fpr=%200.1"])
    func invalidThresholdsAre400(_ text: String) {
        #expect(status("/v1/score?" + text, allowed: PatchQuery.scoreKeys) == 400)
        #expect(status("/v1/reconstruct?" + text) == 400)
    }

    @Test func bothNamedInTheMessage() {
        do {
            _ = try query("/v1/score?threshold=0.9&fpr=0.1", allowed: PatchQuery.scoreKeys)
            Issue.record("accepted both")
        } catch let problem as Problem {
            #expect(problem.detail.contains("threshold") && problem.detail.contains("fpr"))
        } catch { Issue.record("\(error)") }
    }

    @Test func stainPicture() throws {
        #expect(try query("/v1/reconstruct?image=stain").picture == .stain)
    }

    /// A `maps=array` answer of worst-case values stays within what the budget charged for it (the old charge
    /// counted two maps, and the stain map made the answer larger than that).
    @Test func arrayBudgetCoversThreeMaps() throws {
        var query = PatchQuery()
        query.maps = .array
        query.reconstruction = false
        let side = 150, values = [Float](repeating: -1.2345678e-05, count: side * side)
        let scorer = try PatchScorer(card: try ModelCard(contentsOf: ResponseJSONTests.card))
        var report = PatchReport(index: 0, name: nil, score: try scorer.score(PatchStatistics { _ in 0.5 }))
        report.maps = MapsReport(format: "array", width: side, height: side, mse: values, ssim: values, stain: values)
        let response = PatchesResponse(model: scorer.model, patches: [report], precision: .fp32)
        let written = try ResponseRenderer.json(response).count
        #expect(written <= ResponseBudget.bytesPerPatch(query: query, detail: .full), "\(written) bytes")
        #expect(written > 2 * side * side * 14)   // three maps' worth, more than two would be charged
    }

    @Test func panelAnswerIsChargedItsSize() {
        let panel = Panel.size(width: 150, height: 150)
        #expect(ResponseBudget.pngAnswerBytes(.panel) >= panel.width * panel.height * 3)
        #expect(ResponseBudget.pngAnswerBytes(.stain) >= 150 * 150 * 3)
    }
}
