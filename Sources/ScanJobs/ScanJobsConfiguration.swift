import Foundation
import InferenceService
import SlideScanning

/// Everything `histoae serve` can be told about scan jobs, with the defaults and ranges that `--help`,
/// README and validation quote: the one place they live.
///
/// Scan jobs are on when ``slideRoot`` is set; they then need ``stateDirectory`` (the job database
/// `scans.sqlite` and the results under `scans/<id>/`).
///
/// ```swift
/// var scans = ScanJobsConfiguration()
/// scans.slideRoot = "/data/slides"
/// scans.stateDirectory = "/var/lib/histoae"
/// try scans.validate()
/// ```
public struct ScanJobsConfiguration: Sendable, Equatable {
    /// The folder clients' slide paths are relative to; nil: no scan jobs (the scan routes answer 404).
    public var slideRoot: String?
    /// Where the job database and the results live.
    public var stateDirectory: String?
    /// Jobs queued and running at once; one more is refused (429).
    public var maxJobs = ScanJobsConfiguration.defaultMaxJobs
    /// Scans running at once, each on its own thread (they share the engine's workers with every request).
    public var workers = ScanJobsConfiguration.defaultWorkers
    /// How long a finished job (and its results) is kept, in hours.
    public var retentionHours = ScanJobsConfiguration.defaultRetentionHours
    /// Slides the viewer's routes keep open between requests (``defaultOpenSlides``).
    public var openSlides = ScanJobsConfiguration.defaultOpenSlides

    public static let defaultMaxJobs = 16
    public static let maxJobsRange = 1...10_000
    public static let defaultWorkers = 1
    public static let workersRange = 1...16
    public static let defaultRetentionHours = 168.0
    /// A minute to ten years.
    public static let retentionHoursRange = (1.0 / 60)...87_600
    /// Largest `POST /v1/scans` body: a slide path of at most ``SlideRoot/maxPathBytes`` characters even when
    /// every one is JSON-escaped as a surrogate pair (`\ud83d\ude0d`, 12 bytes), and a few numbers.
    public static let maxRequestBytes = 64 * 1024
    /// `GET /v1/scans` page size: default and most.
    public static let defaultPageSize = 50
    public static let pageSizeRange = 1...200
    /// Slides the viewer's routes (Deep Zoom tiles, panels) keep open between requests, most recently used first:
    /// reopening per tile costs more than the tile (OpenSlide parses the file's directories on every open), and
    /// each open slide holds OpenSlide's own tile cache (32 MiB at most, OpenSlide's default), so a few.
    public static let defaultOpenSlides = 4
    public static let openSlidesRange = 1...64
    /// The least engine queue capacity scan jobs work with: one scan request (``SlideScanning/ScanSettings/defaultBatch``
    /// tiles) must fit in it.
    public static let leastQueueCapacity = ScanSettings.defaultBatch

    public init() {}

    public var enabled: Bool { slideRoot != nil }

    /// Every field in range, or one sentence naming the flag that is not.
    public func validate() throws(ConfigurationError) {
        if slideRoot != nil && stateDirectory == nil {
            throw ConfigurationError("--slide-root needs --state-dir: the folder for the scan job database and results")
        }
        if slideRoot == nil && stateDirectory != nil {
            throw ConfigurationError("--state-dir is used by scan jobs only: give --slide-root too")
        }
        guard Self.maxJobsRange.contains(maxJobs) else {
            throw ConfigurationError("--max-scan-jobs must be in \(Self.maxJobsRange), got \(maxJobs)")
        }
        guard Self.workersRange.contains(workers) else {
            throw ConfigurationError("--scan-workers must be in \(Self.workersRange), got \(workers)")
        }
        guard Self.openSlidesRange.contains(openSlides) else {
            throw ConfigurationError("--open-slides must be in \(Self.openSlidesRange), got \(openSlides)")
        }
        guard retentionHours.isFinite, Self.retentionHoursRange.contains(retentionHours) else {
            throw ConfigurationError("--scan-retention-h must be between \(Self.retentionHoursRange.lowerBound) and \(Self.retentionHoursRange.upperBound) hours, got \(retentionHours)")
        }
    }
}
