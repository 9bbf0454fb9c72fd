import AutoencoderModel
import Foundation
import InferenceService
import Logging
import Scoring
import SlideScanning
import Synchronization

/// Runs the service's scan jobs: takes them in the order they came, at most ``ScanJobsConfiguration/workers``
/// at once, each on a ``ScanThread`` of its own, through the shared engine at ``SubmissionPriority/background``
/// priority (patch requests are served first) and with the job's own method and threshold. Records every step
/// in the ``ScanJobStore``; writes results to `<state-dir>/scans/<id>/`.
///
/// A restarted server finds the jobs its predecessor left queued or running marked interrupted (their partial
/// files removed); ``shutdown()`` does the same for its own on SIGTERM. Finished jobs are kept for
/// ``ScanJobsConfiguration/retentionHours``, then removed with their results (``purgeExpired(now:)``).
///
/// ```swift
/// let runner = try ScanJobRunner(configuration: scans, engine: engine, scorer: scorer, card: card)
/// let job = try runner.submit(slide: "cmu-1.svs", parameters: ScanParameters())   // queued, then running
/// let now = try runner.job(id: job.id)                                              // state, progress
/// _ = try await runner.cancel(id: job.id)                                            // DELETE
/// await runner.shutdown()                                                            // SIGTERM
/// ```
public final class ScanJobRunner: Sendable {
    public let configuration: ScanJobsConfiguration
    public let root: SlideRoot
    /// `<state-dir>/scans`: one folder of results per job.
    public let resultsFolder: URL
    let store: ScanJobStore
    let engine: InferenceEngine
    /// The engine's scorer; a job's scorer is it with the job's method and threshold.
    let scorer: PatchScorer
    let modelMPP: Double
    let metrics: ScanJobMetrics
    let logger: Logger
    private let threads: [ScanThread]
    private let state: Mutex<RunnerState>

    private struct RunnerState {
        /// Queued jobs, oldest first.
        var pending: [String] = []
        var running: [String: (task: Task<Void, Never>, thread: Int)] = [:]
        var freeThreads: [Int]
        var stopping = false
    }

    /// Opens (or creates) the state directory and its database, and marks the jobs a previous server left
    /// unfinished as interrupted.
    ///
    /// - Throws: ``InferenceService/ConfigurationError`` — scan jobs not configured, the slide root not a
    ///   folder, the state directory or database unusable, a model card without `input.mpp`.
    public init(configuration: ScanJobsConfiguration, engine: InferenceEngine, scorer: PatchScorer, card: ModelCard,
                metrics: ScanJobMetrics = .none, logger: Logger = Logger(label: "histoae.scans")) throws(ConfigurationError) {
        try configuration.validate()
        guard let rootPath = configuration.slideRoot, let stateDirectory = configuration.stateDirectory else {
            throw ConfigurationError("scan jobs need --slide-root and --state-dir")
        }
        do {
            root = try SlideRoot(rootPath)
            modelMPP = try ModelScale.micronsPerPixel(of: card)
        } catch let error as SlideRootError { throw ConfigurationError(error.description) } catch {
            throw ConfigurationError("scan jobs: \(error)")
        }
        let stateFolder = URL(fileURLWithPath: stateDirectory)
        resultsFolder = stateFolder.appendingPathComponent("scans")
        do { try FileManager.default.createDirectory(at: resultsFolder, withIntermediateDirectories: true) } catch {
            throw ConfigurationError("\(resultsFolder.path): cannot create the scan results folder: \(error.localizedDescription)")
        }
        do { store = try ScanJobStore(path: stateFolder.appendingPathComponent("scans.sqlite").path) } catch {
            throw ConfigurationError(error.description)
        }
        self.configuration = configuration
        self.engine = engine
        self.scorer = scorer
        self.metrics = metrics
        self.logger = logger
        threads = (0..<configuration.workers).map { ScanThread(name: "hae-scan-\($0)") }
        state = Mutex(RunnerState(freeThreads: Array((0..<configuration.workers).reversed())))
        let interrupted: [String]
        do { interrupted = try store.markUnfinishedInterrupted(at: Date()) } catch { throw ConfigurationError(error.description) }
        for id in interrupted { removeResults(of: id) }
        if !interrupted.isEmpty {
            logger.notice("scan jobs interrupted by the last stop", metadata: ["count": "\(interrupted.count)"])
        }
        purgeExpired()
        refreshGauges()
    }

    // MARK: Requests

    /// Queues a scan of `slide` (relative to the slide root).
    ///
    /// - Throws: ``ScanJobError``: parameters out of range, a slide path refused or naming nothing, as many
    ///   jobs active as allowed, the server stopping, the database failing.
    public func submit(slide: String, parameters: ScanParameters) throws(ScanJobError) -> ScanJob {
        try parameters.validate()
        do { _ = try root.resolve(slide) } catch { throw .slide(error) }
        let job = ScanJob(slide: slide, parameters: parameters)
        try state.withLock { (state: inout RunnerState) throws(ScanJobError) in
            guard !state.stopping else { throw .shuttingDown }
            guard state.pending.count + state.running.count < configuration.maxJobs else {
                throw .tooManyJobs(limit: configuration.maxJobs)
            }
            try store.insert(job)
            state.pending.append(job.id)
        }
        refreshGauges()
        dispatch()
        return job
    }

    public func job(id: String) throws(ScanJobError) -> ScanJob {
        guard let job = try store.job(id: id) else { throw .notFound(id: id) }
        return job
    }

    /// At most `limit` jobs, newest first, older than the job `before`.
    public func list(limit: Int, before: String?) throws(ScanJobError) -> [ScanJob] {
        try store.list(limit: limit, before: before)
    }

    /// Cancels a queued or running job and waits until it has stopped (its partial files removed); the job as
    /// it is then. A finished job is returned as it is.
    public func cancel(id: String) async throws(ScanJobError) -> ScanJob {
        let running: Task<Void, Never>?? = state.withLock { state in
            if let index = state.pending.firstIndex(of: id) {
                state.pending.remove(at: index)
                return .some(nil)
            }
            guard let entry = state.running[id] else { return nil }
            entry.task.cancel()
            return entry.task
        }
        switch running {
        case .some(nil):
            try finish(id, as: .cancelled, error: "cancelled by a DELETE request before it started")
        case .some(let task?):
            await task.value
        case nil:
            break
        }
        return try job(id: id)
    }

    /// Deletes a finished job's record and results; false, deleting nothing, while it is queued or running.
    public func delete(id: String) throws(ScanJobError) -> Bool {
        guard try job(id: id).state.isFinished else { return false }
        try store.delete(id: id)
        removeResults(of: id)
        refreshGauges()
        return true
    }

    /// The file `name` of a succeeded job's results.
    ///
    /// - Throws: ``ScanJobError/notFound(id:)``, or ``ScanJobError/notSucceeded(id:state:)`` before it has.
    public func result(id: String, name: String) throws(ScanJobError) -> URL {
        let job = try job(id: id)
        guard job.state == .succeeded else { throw .notSucceeded(id: id, state: job.state) }
        return resultsFolder.appendingPathComponent(id).appendingPathComponent(name)
    }

    /// Removes finished jobs older than the retention, with their results.
    public func purgeExpired(now: Date = Date()) {
        let cutoff = now.addingTimeInterval(-configuration.retentionHours * 3600)
        guard let ids = try? store.finishedIDs(before: cutoff), !ids.isEmpty else { return }
        for id in ids {
            _ = try? store.delete(id: id)
            removeResults(of: id)
        }
        logger.info("expired scan jobs removed", metadata: ["count": "\(ids.count)"])
        refreshGauges()
    }

    /// Stops taking jobs, marks the queued ones interrupted, cancels the running ones (marked interrupted, their
    /// partial files removed), waits for them, and ends the scan threads.
    public func shutdown() async {
        let (queued, running) = state.withLock { state in
            state.stopping = true
            defer { state.pending = [] }
            return (state.pending, state.running.values.map(\.task))
        }
        for id in queued { try? finish(id, as: .interrupted, error: "the server stopped before the job started") }
        for task in running { task.cancel() }
        for task in running { await task.value }
        for thread in threads { thread.stop() }
        refreshGauges()
    }

    // MARK: Running

    /// Starts queued jobs while scan threads are free.
    private func dispatch() {
        state.withLock { state in
            while !state.stopping, !state.pending.isEmpty, let thread = state.freeThreads.popLast() {
                let id = state.pending.removeFirst()
                let task = Task(executorPreference: threads[thread]) { [self] in
                    await run(id)
                    done(id)
                }
                state.running[id] = (task, thread)
            }
        }
    }

    private func done(_ id: String) {
        state.withLock { state in
            if let entry = state.running.removeValue(forKey: id) { state.freeThreads.append(entry.thread) }
        }
        purgeExpired()
        dispatch()
    }

    /// Scans one job's slide on this task's scan thread, and records how it ended.
    private func run(_ id: String) async {
        let folder = resultsFolder.appendingPathComponent(id)
        do {
            guard let job = try store.job(id: id), job.state == .queued else { return }
            let parameters = job.parameters
            let jobScorer = try parameters.scorer(basedOn: scorer)
            let scanner = try SlideScanner(engine: engine, scorer: jobScorer, modelMPP: modelMPP, settings: parameters.settings)
            try store.update(id: id) { $0.state = .running; $0.startedAt = Date(); return true }
            refreshGauges()
            logger.info("scan job started", metadata: ["job": "\(id)", "slide": "\(job.slide)"])
            let path: String
            do { path = try root.resolve(job.slide) } catch { throw ScanJobError.slide(error) }   // again: links change
            let plan = try scanner.plan(slidePath: path)
            try store.update(id: id) { $0.tilesTotal = plan.grid.tiles.count; return true }
            if Task.isCancelled { throw SlideScanError.cancelled(slide: path) }
            let recorder = ProgressRecorder(id: id, store: store, metrics: metrics)
            let summary = try await SubmissionOptions.$current.withValue(SubmissionOptions(priority: .background, scorer: jobScorer)) {
                try await scanner.scan(plan: plan, outputFolder: folder, progress: recorder.record)
            }
            try store.update(id: id) {
                $0.tilesDone = summary.tilesScanned
                $0.tilesPerSecond = summary.timings.tilesPerSecond
                $0.normalTiles = summary.verdicts.normal
                $0.anomalousTiles = summary.verdicts.anomalous
                $0.notTissueTiles = summary.verdicts.notTissue
                return true
            }
            try finish(id, as: .succeeded, error: nil)
        } catch let error as SlideScanError {
            guard case .cancelled = error else {
                recordFailure(id, error.description)
                return
            }
            removeResults(of: id)
            let stopping = state.withLock { $0.stopping }
            try? finish(id, as: stopping ? .interrupted : .cancelled,
                        error: stopping ? "the server stopped while the job was running; its partial results were removed"
                                        : "cancelled by a DELETE request; its partial results were removed")
        } catch {
            recordFailure(id, "\(error)")
        }
    }

    private func recordFailure(_ id: String, _ message: String) {
        removeResults(of: id)
        do { try finish(id, as: .failed, error: message) } catch {
            logger.error("scan job state not recorded", metadata: ["job": "\(id)", "error": "\(error)"])
        }
    }

    /// Records a job's end state.
    private func finish(_ id: String, as end: ScanJobState, error: String?) throws(ScanJobError) {
        let job = try store.update(id: id) {
            $0.state = end
            $0.finishedAt = Date()
            $0.error = error
            return true
        }
        metrics.finished[end]?.increment()
        refreshGauges()
        var metadata: Logger.Metadata = ["job": "\(id)", "state": "\(end.rawValue)", "tiles": "\(job?.tilesDone ?? 0)"]
        if let started = job?.startedAt, let ended = job?.finishedAt {
            metadata["seconds"] = "\(String(format: "%.1f", ended.timeIntervalSince(started)))"
        }
        if let error { metadata["error"] = "\(error)" }
        logger.info("scan job ended", metadata: metadata)
    }

    private func removeResults(of id: String) {
        try? FileManager.default.removeItem(at: resultsFolder.appendingPathComponent(id))
    }

    private func refreshGauges() {
        if let counts = try? store.countsByState() { metrics.record(counts) }
    }
}
