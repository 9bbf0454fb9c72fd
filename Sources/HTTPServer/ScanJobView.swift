import Foundation
import ScanJobs
import Scoring

/// A scan job as the API shows it (`openapi.yaml` `ScanJob`): id, slide, state, parameters, progress, times
/// (ISO 8601, UTC), a succeeded job's rate and verdict counts, the error line of one that did not succeed, and
/// links to itself and its four results (which answer 409 until it has succeeded). Absent values are `null`,
/// never left out.
///
/// ```swift
/// let bytes = try ScanJobView.json(ScanJobView(job))                 // one job
/// let page = try ScanJobView.json(list: jobs, next: "/v1/scans?limit=50&before=…")
/// ```
struct ScanJobView: Encodable {
    let job: ScanJob

    init(_ job: ScanJob) { self.job = job }

    /// Each result's file name, route and content type.
    static let results: [(name: String, key: String, contentType: String)] = [
        ("tiles.csv", "tiles_csv", "text/csv; charset=utf-8"),
        ("tiles.geojson", "tiles_geojson", "application/geo+json"),
        ("heatmap.png", "heatmap_png", "image/png"),
        ("summary.json", "summary_json", "application/json"),
    ]

    static func path(of id: String) -> String { "/v1/scans/\(id)" }

    private struct Parameters: Encodable {
        let stride: Int
        let min_tissue: Double
        let slide_mpp: Double?
        let method: String
        let threshold: Double
        let fpr: Double
        let threshold_source: String

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(stride, forKey: .stride)
            try c.encode(min_tissue, forKey: .min_tissue)
            try c.encode(slide_mpp, forKey: .slide_mpp)
            try c.encode(method, forKey: .method)
            try c.encode(threshold, forKey: .threshold)
            try c.encode(fpr, forKey: .fpr)
            try c.encode(threshold_source, forKey: .threshold_source)
        }
        enum CodingKeys: CodingKey { case stride, min_tissue, slide_mpp, method, threshold, fpr, threshold_source }
    }

    enum CodingKeys: String, CodingKey {
        case id, slide, state, parameters, progress, error, verdicts, links
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at"
        case tilesPerSecond = "tiles_per_second"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(job.id, forKey: .id)
        try c.encode(job.slide, forKey: .slide)
        try c.encode(job.state.rawValue, forKey: .state)
        let parameters = job.parameters
        let limit = try? Threshold(parameters.threshold)
        try c.encode(Parameters(stride: parameters.stride, min_tissue: parameters.minTissue, slide_mpp: parameters.slideMPP,
                                method: parameters.method.rawValue, threshold: limit?.value ?? ScoreMethod.defaultThreshold,
                                fpr: limit?.fpr ?? 1 - ScoreMethod.defaultThreshold,
                                threshold_source: (limit?.source ?? .default).rawValue), forKey: .parameters)
        try c.encode(["tiles_done": job.tilesDone, "tiles_total": job.tilesTotal], forKey: .progress)
        try c.encode(job.createdAt.iso8601, forKey: .createdAt)
        try c.encode(job.startedAt?.iso8601, forKey: .startedAt)
        try c.encode(job.finishedAt?.iso8601, forKey: .finishedAt)
        try c.encode(job.tilesPerSecond, forKey: .tilesPerSecond)
        let verdicts = job.normalTiles.map { normal in
            ["normal": normal, "anomalous": job.anomalousTiles ?? 0, "not_tissue": job.notTissueTiles ?? 0]
        }
        try c.encode(verdicts, forKey: .verdicts)
        try c.encode(job.error, forKey: .error)
        let own = Self.path(of: job.id)
        var links = ["self": own]
        for result in Self.results { links[result.key] = own + "/" + result.name }
        try c.encode(links, forKey: .links)
    }

    static func json(_ view: ScanJobView) throws -> [UInt8] {
        [UInt8](try encoder.encode(view))
    }

    /// `{"scans": [...], "next": "/v1/scans?…" | null}`.
    static func json(list jobs: [ScanJob], next: String?) throws -> [UInt8] {
        struct Page: Encodable {
            let scans: [ScanJobView]
            let next: String?
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(scans, forKey: .scans)
                try c.encode(next, forKey: .next)
            }
            enum CodingKeys: CodingKey { case scans, next }
        }
        return [UInt8](try encoder.encode(Page(scans: jobs.map(ScanJobView.init), next: next)))
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension Date {
    /// `2026-11-30T14:54:06.123Z`.
    var iso8601: String { Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(self) }
}
