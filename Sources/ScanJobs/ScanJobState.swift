/// Where a scan job is in its life. A job is created `queued`, becomes `running` when a scan worker takes it,
/// and ends `succeeded` (its four results are on disk), `failed` (``ScanJob/error`` says why in one line),
/// `cancelled` (`DELETE` while it was queued or running) or `interrupted` (the server stopped first; a
/// restarted server marks the jobs it finds queued or running so).
///
/// ```swift
/// if job.state.isFinished { print(job.state.rawValue, job.error ?? "") }
/// ```
public enum ScanJobState: String, Codable, Sendable, CaseIterable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled
    case interrupted

    /// Queued or running: it counts against the job limit and can be cancelled.
    public var isActive: Bool { self == .queued || self == .running }
    /// Nothing more will happen to it: it can be deleted, and retention removes it in time.
    public var isFinished: Bool { !isActive }
}
