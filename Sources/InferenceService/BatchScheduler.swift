import AutoencoderModel
import Foundation
import ImageCodecs
import Logging
import Scoring
import TensorKernels

/// Dynamic batching over one bounded queue (Triton-style): patches from every concurrent submission wait
/// in FIFO order; each of ``SchedulerConfiguration/workers`` dedicated threads takes up to `maxBatch` of them
/// once the batch is full or the oldest has waited `maxDelay`, runs the forward pass and scores them.
///
/// Heavy compute never runs on the caller's threads (NIO event loops, Swift's cooperative pool): callers
/// only enqueue and suspend. A full queue refuses at once (``ServiceError/overloaded(queued:capacity:retryAfterSeconds:)``);
/// a submission past its deadline or cancelled has its queued patches dropped before compute.
///
/// ```swift
/// let scheduler = BatchScheduler(model: bundle.model, scorer: scorer, configuration: SchedulerConfiguration())
/// scheduler.start()
/// let outcome = try await scheduler.submit([image], detail: .score, deadlineMilliseconds: 30_000).get()
/// print(outcome.patches[0].score.score)
/// await scheduler.drain()        // finishes every accepted patch, then stops the threads
/// ```
public final class BatchScheduler: @unchecked Sendable {
    public let configuration: SchedulerConfiguration
    let model: CNNAutoencoder3
    let scorer: PatchScorer
    let metrics: SchedulerMetrics
    let logger: Logger

    /// Guards everything below.
    let condition = NSCondition()
    /// FIFO of waiting patches; `head` is the first live index (compacted as it grows).
    private var queue: [QueuedPatch] = []
    private var head = 0
    private var accepting = false
    private var stopping = false
    /// Patches taken by workers and not yet finished.
    private var inFlight = 0
    /// Exponentially smoothed patches per second, for `Retry-After`.
    private var throughput = 0.0
    private var threads: [Thread] = []
    private var exited = 0

    public init(model: CNNAutoencoder3, scorer: PatchScorer, configuration: SchedulerConfiguration,
                metrics: SchedulerMetrics = .none, logger: Logger = Logger(label: "histoae.scheduler")) {
        self.model = model
        self.scorer = scorer
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Starts the worker threads and opens the queue.
    public func start() {
        BLAS.setThreads(configuration.blasThreads)
        condition.lock()
        defer { condition.unlock() }
        guard threads.isEmpty else { return }
        accepting = true
        for index in 0..<configuration.workers {
            let worker = InferenceWorker(scheduler: self, maxBatch: configuration.maxBatch)
            let thread = Thread { worker.run() }
            thread.name = "histoae-worker-\(index)"
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
    }

    /// Patches waiting now.
    public var queueDepth: Int {
        condition.lock(); defer { condition.unlock() }
        return queue.count - head
    }

    /// Ready to take work: started, not draining, queue not full.
    public var isReady: Bool {
        condition.lock(); defer { condition.unlock() }
        return accepting && queue.count - head < configuration.queueCapacity
    }

    /// Queues `images` (each 150 × 150) and suspends until all are scored, or the submission fails.
    /// Cancelling the calling task drops its queued patches.
    public func submit(_ images: [RGBImage], detail: OutputDetail,
                       deadlineMilliseconds: Int) async -> Result<BatchOutcome, ServiceError> {
        guard !images.isEmpty else { return .success(BatchOutcome(patches: [], queueSeconds: 0, inferenceSeconds: 0)) }
        let ticket = Ticket(count: images.count, detail: detail, deadlineMilliseconds: deadlineMilliseconds,
                            now: DispatchTime.now().uptimeNanoseconds)
        if let refusal = enqueue(images, ticket: ticket) {
            if case .overloaded = refusal { metrics.patchesRejected.increment(by: images.count) }
            return .failure(refusal)
        }
        // The deadline fires even while every worker is busy; a worker also checks it before compute.
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(deadlineMilliseconds)) { [weak ticket] in
            ticket?.fail(.deadlineExceeded(milliseconds: deadlineMilliseconds))
        }
        return await withTaskCancellationHandler {
            await ticket.wait()
        } onCancel: {
            ticket.fail(.cancelled)
        }
    }

    /// Why a request of `patches` patches would be refused now, or nil if it would be queued. The server
    /// asks this before it reads a request's body, so a full queue costs the client no upload.
    public func admissionRefusal(patches: Int = 1) -> ServiceError? {
        condition.lock()
        defer { condition.unlock() }
        return refusal(adding: patches)
    }

    /// Call with the lock held.
    private func refusal(adding count: Int) -> ServiceError? {
        guard accepting else { return .shuttingDown }
        let capacity = configuration.queueCapacity
        guard count <= capacity else { return .tooManyPatches(count: count, capacity: capacity) }
        let depth = queue.count - head
        guard depth + count <= capacity else {
            // Until a batch has finished, assume 10 patches/s per worker (a 2-core machine does ~20).
            let rate = throughput > 0 ? throughput : 10 * Double(configuration.workers)
            let seconds = Int((Double(depth + inFlight) / rate).rounded(.up))
            return .overloaded(queued: depth, capacity: capacity, retryAfterSeconds: min(max(1, seconds), 60))
        }
        return nil
    }

    private func enqueue(_ images: [RGBImage], ticket: Ticket) -> ServiceError? {
        condition.lock()
        defer { condition.unlock() }
        if let refusal = refusal(adding: images.count) { return refusal }
        let depth = queue.count - head
        for (index, image) in images.enumerated() {
            queue.append(QueuedPatch(ticket: ticket, index: index, image: image))
        }
        metrics.queueDepth.record(depth + images.count)
        condition.broadcast()
        return nil
    }

    /// Stops accepting, lets the workers finish every queued patch, then ends the threads.
    public func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                condition.lock()
                accepting = false
                while queue.count - head > 0 || inFlight > 0 { condition.wait() }
                stopping = true
                condition.broadcast()
                while exited < threads.count { condition.wait() }
                condition.unlock()
                continuation.resume()
            }
            thread.name = "histoae-drain"
            thread.start()
        }
    }

    // MARK: Worker side

    /// Blocks until a batch is ready: up to `maxBatch` live patches, taken once the batch is full or the
    /// oldest has waited `maxDelay`. Patches of resolved tickets are dropped, expired ones fail their
    /// ticket. `false`: stop.
    ///
    /// - Parameter threads: set to the cores the batch may use — all of them for a lone patch while no other
    ///   worker is busy and nothing else waits (its latency then drops by the split's speedup), else 1.
    func nextBatch(into batch: inout [QueuedPatch], threads: inout Int) -> Bool {
        batch.removeAll(keepingCapacity: true)
        let maxBatch = configuration.maxBatch
        let delay = UInt64(configuration.maxDelay.components.seconds) * 1_000_000_000
            + UInt64(configuration.maxDelay.components.attoseconds / 1_000_000_000)
        condition.lock()
        defer { condition.unlock() }
        while true {
            while queue.count - head == 0 {
                if stopping { return false }
                condition.wait()
            }
            // Let the batch fill, bounded by the oldest patch's delay.
            let formBy = queue[head].ticket.enqueuedAt &+ delay
            while queue.count - head < maxBatch && !stopping {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= formBy { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(formBy - now) / 1e9))
                if queue.count - head == 0 { break }
            }
            let now = DispatchTime.now().uptimeNanoseconds
            var dropped = 0
            while head < queue.count && batch.count < maxBatch {
                let patch = queue[head]
                head += 1
                if patch.ticket.isExpired(at: now) {
                    patch.ticket.fail(.deadlineExceeded(milliseconds: patch.ticket.deadlineMilliseconds))
                }
                if patch.ticket.isResolved { dropped += 1; continue }
                batch.append(patch)
            }
            if head > 1024 || head == queue.count {
                queue.removeFirst(head)
                head = 0
            }
            if dropped > 0 { metrics.patchesDropped.increment(by: dropped) }
            metrics.queueDepth.record(queue.count - head)
            if !batch.isEmpty {
                let alone = batch.count == 1 && inFlight == 0 && queue.count - head == 0
                threads = alone && configuration.blasThreads == 1 ? configuration.workers : 1
                inFlight += batch.count
                return true
            }
            condition.broadcast()    // the queue may have emptied: wake a draining caller
        }
    }

    /// A worker finished `count` patches in `seconds`.
    func finished(count: Int, seconds: Double) {
        condition.lock()
        inFlight -= count
        let rate = Double(count) / max(seconds, 1e-6) * Double(configuration.workers)
        throughput = throughput == 0 ? rate : 0.8 * throughput + 0.2 * rate
        condition.broadcast()
        condition.unlock()
    }

    func workerExited() {
        condition.lock()
        exited += 1
        condition.broadcast()
        condition.unlock()
    }
}
