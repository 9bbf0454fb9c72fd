import Foundation
import SlideScanning
import Synchronization

/// Writes a running job's progress to its record at most twice a second (and at the last tile), and counts
/// the tiles in `histoae_scan_tiles_total` as they are scored. Called on the job's scan thread after every
/// engine request's results are written.
///
/// ```swift
/// let recorder = ProgressRecorder(id: job.id, store: store, metrics: metrics)
/// try await scanner.scan(plan: plan, outputFolder: folder, progress: recorder.record)
/// ```
final class ProgressRecorder: Sendable {
    let id: String
    let store: ScanJobStore
    let metrics: ScanJobMetrics
    /// Least time between two writes of the record.
    static let interval = Duration.milliseconds(500)
    private let last = Mutex<(written: ContinuousClock.Instant?, done: Int)>((nil, 0))

    init(id: String, store: ScanJobStore, metrics: ScanJobMetrics) {
        self.id = id
        self.store = store
        self.metrics = metrics
    }

    @Sendable func record(_ progress: ScanProgress) {
        let now = ContinuousClock.now
        let (added, due) = last.withLock { last in
            let added = max(0, progress.done - last.done)
            last.done = max(last.done, progress.done)
            let due = last.written.map { now - $0 >= Self.interval } ?? true
            if due || progress.done == progress.total { last.written = now }
            return (added, due || progress.done == progress.total)
        }
        if added > 0 { metrics.tilesScanned.increment(by: added) }
        guard due else { return }
        let (done, total) = (progress.done, progress.total)
        // A failed write only delays what GET shows: the scan goes on.
        _ = try? store.update(id: id) { $0.tilesDone = done; $0.tilesTotal = total; return true }
    }
}
