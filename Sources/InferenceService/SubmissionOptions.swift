import Scoring

/// Which of the engine's queues a submission waits in. Workers take every waiting ``interactive`` patch before
/// any ``background`` one, so a patch request sent while a slide scan keeps the engine busy waits for at most
/// the passes already running, never behind the scan's queued tiles.
public enum SubmissionPriority: String, Sendable, CaseIterable {
    /// A caller waiting for its answer: the HTTP patch routes, the command line (the default).
    case interactive
    /// Bulk work that yields to interactive requests: the service's slide scan jobs.
    case background
}

/// How the ``InferenceEngine`` treats the submissions of one task and of every task it starts (a task-local
/// value): their priority, and the scorer that judges their patches when it is not the engine's own.
///
/// The service's scan jobs run the whole slide scan inside one ``withValue(_:operation:)``, so the scan's
/// requests, made deep inside SlideScanning, go to the background queue and are scored with the job's own
/// method and threshold:
///
/// ```swift
/// let options = SubmissionOptions(priority: .background, scorer: try engineScorer.with(threshold: .fpr(0.001)))
/// let summary = try await SubmissionOptions.$current.withValue(options) {
///     try await scanner.scan(plan: plan, outputFolder: folder)
/// }
/// ```
public struct SubmissionOptions: Sendable {
    public var priority: SubmissionPriority
    /// Judges the patches instead of the engine's scorer: same model and calibration (checked on submission),
    /// another method or threshold. The engine computes statistics once; each score is re-derived from them
    /// (``Scoring/PatchScorer/score(_:)``: microseconds a patch), so it is the score this scorer would have
    /// given on the worker. nil: the engine's scorer.
    public var scorer: PatchScorer?

    public init(priority: SubmissionPriority = .interactive, scorer: PatchScorer? = nil) {
        self.priority = priority
        self.scorer = scorer
    }

    /// The options in force for the current task: interactive and the engine's scorer unless a caller up the
    /// task tree set others.
    @TaskLocal public static var current = SubmissionOptions()
}
