import Foundation
import GRDB
import Scoring

/// One scan job's record, a row of the `scan_job` table (``ScanJobStore``): the slide (relative to the slide
/// root), the parameters, the state, the progress, the timings, the error of a failed job and the verdict
/// counts of a succeeded one. Its results live in `<state-dir>/scans/<id>/`.
///
/// ```swift
/// var job = ScanJob(slide: "cmu-1.svs", parameters: ScanParameters())   // queued, a new random id
/// job.state = .running
/// try store.insert(job)
/// ```
public struct ScanJob: Codable, Sendable, Equatable {
    /// A random UUID (lower case): never a path, never guessable from another job's.
    public var id: String
    /// The slide path as the client gave it, relative to the slide root.
    public var slide: String
    public var state: ScanJobState
    public var stride: Int
    public var minTissue: Double
    public var slideMPP: Double?
    public var method: String
    /// `default`, `threshold` or `fpr`, and the value of the last two.
    public var thresholdKind: String
    public var thresholdValue: Double?
    /// Tiles scored so far, and in the grid (nil until the slide has been opened and its tissue found).
    public var tilesDone: Int
    public var tilesTotal: Int?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// One line: why the job failed, or was cancelled or interrupted.
    public var error: String?
    /// A succeeded job's scan rate and verdict counts (its `summary.json` has the rest).
    public var tilesPerSecond: Double?
    public var normalTiles: Int?
    public var anomalousTiles: Int?
    public var notTissueTiles: Int?

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case id, slide, state, stride
        case minTissue = "min_tissue", slideMPP = "slide_mpp", method
        case thresholdKind = "threshold_kind", thresholdValue = "threshold_value"
        case tilesDone = "tiles_done", tilesTotal = "tiles_total"
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at"
        case error
        case tilesPerSecond = "tiles_per_second", normalTiles = "normal_tiles", anomalousTiles = "anomalous_tiles"
        case notTissueTiles = "not_tissue_tiles"
    }

    /// A new queued job with a random id.
    public init(slide: String, parameters: ScanParameters, createdAt: Date = Date()) {
        id = UUID().uuidString.lowercased()
        self.slide = slide
        state = .queued
        stride = parameters.stride
        minTissue = parameters.minTissue
        slideMPP = parameters.slideMPP
        method = parameters.method.rawValue
        switch parameters.threshold {
        case .default: (thresholdKind, thresholdValue) = ("default", nil)
        case .threshold(let value): (thresholdKind, thresholdValue) = ("threshold", value)
        case .fpr(let value): (thresholdKind, thresholdValue) = ("fpr", value)
        }
        tilesDone = 0
        self.createdAt = createdAt
    }

    /// The parameters the job was created with (a stored method or threshold no longer known reads as the
    /// default, which ``ScanParameters/validate()`` would then not have let in: only a hand-edited row).
    public var parameters: ScanParameters {
        var parameters = ScanParameters()
        parameters.stride = stride
        parameters.minTissue = minTissue
        parameters.slideMPP = slideMPP
        parameters.method = ScoreMethod(rawValue: method) ?? .default
        switch (thresholdKind, thresholdValue) {
        case ("threshold", let value?): parameters.threshold = .threshold(value)
        case ("fpr", let value?): parameters.threshold = .fpr(value)
        default: parameters.threshold = .default
        }
        return parameters
    }
}

extension ScanJob: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "scan_job"
    /// Dates as seconds since 2001-01-01 UTC (REAL, Foundation's own reference: they come back from the file bit
    /// for bit; Unix seconds would round).
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .timeIntervalSinceReferenceDate
    }
    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .timeIntervalSinceReferenceDate
    }
}
