import Foundation

/// A dedicated thread that runs the async work of the scan jobs given it (a Swift `TaskExecutor`): a job's
/// slide opening, tissue detection, result writing and heatmap drawing happen here — never on an HTTP event
/// loop or in Swift's cooperative pool, where they would hold up every request. Tiles are still read on the
/// ``SlideReading/TileReader``'s threads and computed on the engine's workers.
///
/// ```swift
/// let thread = ScanThread(name: "hae-scan-0")
/// let task = Task(executorPreference: thread) { try await scanner.scan(plan: plan, outputFolder: folder) }
/// _ = await task.result
/// thread.stop()         // after its last task has finished
/// ```
public final class ScanThread: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var exited = false

    public init(name: String) {
        let thread = Thread { [self] in
            Thread.current.name = name    // the kernel's thread name too, for `top -H` and the benches
            run()
        }
        thread.stackSize = 4 << 20
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread once the jobs queued so far have run, and waits for it (from outside the thread).
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !exited { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                exited = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
