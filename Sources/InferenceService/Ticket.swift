import Foundation
import ImageCodecs

/// One submission in flight: its patches' outcomes, its deadline, and the continuation waiting for it.
///
/// Resolved exactly once — by the last patch's outcome, a failure, the deadline or cancellation, whichever
/// comes first; later resolutions are ignored. Thread-safe (one lock), used by worker threads and the
/// awaiting task.
final class Ticket: @unchecked Sendable {
    let detail: OutputDetail
    let count: Int
    /// Monotonic nanoseconds (`DispatchTime.uptimeNanoseconds`).
    let enqueuedAt: UInt64
    /// Monotonic nanoseconds; `UInt64.max` for a request without a deadline.
    let deadline: UInt64
    let deadlineMilliseconds: Int?

    private let lock = NSLock()
    private var outcomes: [PatchOutcome?]
    private var remaining: Int
    private var queueSeconds = 0.0
    private var inferenceSeconds = 0.0
    private var result: Result<BatchOutcome, ServiceError>?
    private var continuation: CheckedContinuation<Result<BatchOutcome, ServiceError>, Never>?
    /// Signalled on resolution when a thread waits with ``waitBlocking()``.
    private var blockedWaiter: DispatchSemaphore?

    init(count: Int, detail: OutputDetail, deadlineMilliseconds: Int?, now: UInt64) {
        self.count = count
        self.detail = detail
        self.enqueuedAt = now
        self.deadlineMilliseconds = deadlineMilliseconds
        self.deadline = deadlineMilliseconds.map { now &+ UInt64(max(0, $0)) &* 1_000_000 } ?? .max
        outcomes = Array(repeating: nil, count: count)
        remaining = count
    }

    /// Resolved already (done, failed, expired or cancelled): its queued patches need no compute.
    var isResolved: Bool {
        lock.lock(); defer { lock.unlock() }
        return result != nil
    }

    func isExpired(at now: UInt64) -> Bool { now >= deadline }

    /// Records one patch's outcome; the last one resolves the ticket.
    func complete(_ index: Int, with outcome: PatchOutcome, queueSeconds: Double, inferenceSeconds: Double) {
        lock.lock()
        guard result == nil else { lock.unlock(); return }
        outcomes[index] = outcome
        remaining -= 1
        self.queueSeconds = max(self.queueSeconds, queueSeconds)
        self.inferenceSeconds = max(self.inferenceSeconds, inferenceSeconds)
        if remaining == 0 {
            let done = BatchOutcome(patches: outcomes.map { $0! }, queueSeconds: self.queueSeconds,
                                    inferenceSeconds: self.inferenceSeconds)
            outcomes = []
            resolveLocked(.success(done))
        } else {
            lock.unlock()
        }
    }

    func fail(_ error: ServiceError) {
        lock.lock()
        guard result == nil else { lock.unlock(); return }
        outcomes = []
        resolveLocked(.failure(error))
    }

    /// Suspends until resolved.
    func wait() async -> Result<BatchOutcome, ServiceError> {
        await withCheckedContinuation { continuation in
            lock.lock()
            if let result {
                lock.unlock()
                continuation.resume(returning: result)
            } else {
                self.continuation = continuation
                lock.unlock()
            }
        }
    }

    /// Blocks the calling thread until resolved (a command-line thread, never the cooperative pool).
    func waitBlocking() -> Result<BatchOutcome, ServiceError> {
        lock.lock()
        if let result {
            lock.unlock()
            return result
        }
        let semaphore = DispatchSemaphore(value: 0)
        blockedWaiter = semaphore
        lock.unlock()
        semaphore.wait()
        lock.lock(); defer { lock.unlock() }
        return result!
    }

    /// Called with the lock held; releases it before resuming the waiter.
    private func resolveLocked(_ value: Result<BatchOutcome, ServiceError>) {
        result = value
        let waiter = continuation, blocked = blockedWaiter
        continuation = nil
        blockedWaiter = nil
        lock.unlock()
        waiter?.resume(returning: value)
        blocked?.signal()
    }
}

/// One queued patch: which ticket, which position in it, and its input.
struct QueuedPatch {
    let ticket: Ticket
    let index: Int
    let input: PatchInput
}
