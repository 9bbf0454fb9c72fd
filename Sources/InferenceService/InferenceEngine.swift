import AutoencoderModel
import Foundation
import ImageCodecs
import Logging
import Scoring
import TensorKernels

/// The one engine every caller runs patches through — `histoae serve`, `score`, `reconstruct`, `bench` and
/// `scan`, and the service's scan jobs: bounded FIFO queues in front of ``EngineConfiguration/workers``
/// dedicated inference threads. Each worker takes the oldest patch — the oldest ``SubmissionPriority/interactive``
/// one while any waits, else the oldest ``SubmissionPriority/background`` one (``SubmissionOptions``: a scan
/// job's tiles never hold up a patch request) — normalizes it (docs/model.md §3), runs one forward pass and
/// scores it; a lone patch on an idle engine runs its pass split across every worker's core. A patch's result
/// is bit-identical whatever else is queued (every pass holds one image, and a split pass sums in the same order).
///
/// Heavy compute never runs on the caller's threads (NIO event loops, Swift's cooperative pool): callers only
/// enqueue and suspend. A full queue refuses at once (``ServiceError/overloaded(queued:capacity:retryAfterSeconds:)``);
/// a request past its deadline or cancelled has its queued patches dropped before compute. Background patches
/// never take an interactive request's room: an interactive request is refused only when the interactive
/// patches waiting fill ``EngineConfiguration/queueCapacity``, a background one when all waiting patches do
/// (so at most twice the capacity waits, and background work is bounded by its callers: a scan keeps
/// ``SlideScanning``'s few requests in flight).
///
/// ```swift
/// let engine = InferenceEngine(model: bundle.model, scorer: scorer, configuration: EngineConfiguration())
/// engine.start()
/// let outcome = try await engine.submit([image], detail: .score, deadlineMilliseconds: 30_000).get()
/// print(outcome.patches[0].score!.score)
/// await engine.drain()        // finishes every accepted patch, then stops the threads
/// ```
public final class InferenceEngine: @unchecked Sendable {
    public let configuration: EngineConfiguration
    let model: CNNAutoencoder3
    /// nil: the model has no calibrated card; only ``OutputDetail/reconstruction`` requests are served.
    let scorer: PatchScorer?
    let metrics: EngineMetrics
    let logger: Logger

    /// Guards everything below.
    let condition = NSCondition()
    /// The waiting patches, one FIFO per priority.
    private var queue = PatchQueues()
    private var accepting = false
    private var stopping = false
    /// Patches taken by workers and not yet finished.
    private var inFlight = 0
    /// Exponentially smoothed patches per second, for `Retry-After`.
    private var throughput = 0.0
    private var threads: [Thread] = []
    private var exited = 0
    /// While set, workers take no patch (tests hold a queue full to observe admission, deadlines, cancellation).
    private var held = false

    public init(model: CNNAutoencoder3, scorer: PatchScorer?, configuration: EngineConfiguration,
                metrics: EngineMetrics = .none, logger: Logger = Logger(label: "histoae.engine")) {
        self.model = model
        self.scorer = scorer
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// What runs the GEMMs on this CPU (the packed AVX-512 kernel or OpenBLAS), for logs and `histoae bench`.
    public static var gemmDescription: String { PackedWeights.kernelDescription }

    /// Starts the worker threads and opens the queue.
    public func start() {
        BLAS.setThreads(configuration.blasThreads)
        condition.lock()
        defer { condition.unlock() }
        guard threads.isEmpty else { return }
        accepting = true
        for index in 0..<configuration.workers {
            let worker = InferenceThread(engine: self)
            // The kernel's thread name (≤ 15 bytes), so `top -H` and the load test's CPU accounting can tell the
            // workers from the HTTP threads (a new thread otherwise inherits its creator's name).
            let name = "hae-worker-\(index)"
            let thread = Thread {
                ThreadName.set(name)
                worker.run()
            }
            thread.name = name
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
    }

    /// Patches waiting now, both priorities.
    public var queueDepth: Int {
        condition.lock(); defer { condition.unlock() }
        return queue.count
    }

    /// Patches waiting now at `priority`.
    public func queueDepth(of priority: SubmissionPriority) -> Int {
        condition.lock(); defer { condition.unlock() }
        return queue.count(of: priority)
    }

    /// Ready to take interactive work: started, not draining, the interactive queue not full (background
    /// patches never make the engine unready).
    public var isReady: Bool {
        condition.lock(); defer { condition.unlock() }
        return accepting && queue.count(of: .interactive) < configuration.queueCapacity
    }

    /// Queues decoded 150 × 150 images and suspends until all are done, or the request fails.
    public func submit(_ images: [RGBImage], detail: OutputDetail,
                       deadlineMilliseconds: Int? = nil) async -> Result<BatchOutcome, ServiceError> {
        await submit(inputs: images.map(PatchInput.image), detail: detail, deadlineMilliseconds: deadlineMilliseconds)
    }

    /// Queues `inputs` and suspends until all are done, or the request fails. Cancelling the calling task drops
    /// its queued patches. The task's ``SubmissionOptions/current`` give the queue and the scorer.
    ///
    /// - Parameter deadlineMilliseconds: from now; nil for none (the command line).
    public func submit(inputs: [PatchInput], detail: OutputDetail,
                       deadlineMilliseconds: Int? = nil) async -> Result<BatchOutcome, ServiceError> {
        let options = SubmissionOptions.current
        let ticket: Ticket
        switch admit(inputs, detail: detail, deadlineMilliseconds: deadlineMilliseconds, options: options) {
        case .failure(let error): return .failure(error)
        case .success(nil): return .success(BatchOutcome(patches: [], queueSeconds: 0, inferenceSeconds: 0))
        case .success(let admitted?): ticket = admitted
        }
        let result = await withTaskCancellationHandler {
            await ticket.wait()
        } onCancel: {
            ticket.fail(.cancelled)
        }
        return rescoring(result, with: options)
    }

    /// ``submit(inputs:detail:deadlineMilliseconds:)`` for a command-line thread: blocks it until the request
    /// is done. Never call it from Swift's cooperative pool or an event loop.
    public func run(inputs: [PatchInput], detail: OutputDetail) -> Result<BatchOutcome, ServiceError> {
        let options = SubmissionOptions.current
        switch admit(inputs, detail: detail, deadlineMilliseconds: nil, options: options) {
        case .failure(let error): return .failure(error)
        case .success(nil): return .success(BatchOutcome(patches: [], queueSeconds: 0, inferenceSeconds: 0))
        case .success(let ticket?): return rescoring(ticket.waitBlocking(), with: options)
        }
    }

    /// Checks and queues a request; its ticket, nil for an empty request, or the refusal.
    private func admit(_ inputs: [PatchInput], detail: OutputDetail, deadlineMilliseconds: Int?,
                       options: SubmissionOptions) -> Result<Ticket?, ServiceError> {
        guard !inputs.isEmpty else { return .success(nil) }
        if detail.scores {
            guard let scorer else { return .failure(.scoring("the model has no calibrated card (model.json)")) }
            guard !inputs.contains(where: { if case .normalized = $0 { true } else { false } }) else {
                return .failure(.scoring("normalized arrays can be reconstructed, not scored (scoring reads the RGB pixels)"))
            }
            if let own = options.scorer, own.model != scorer.model || own.calibration != scorer.calibration {
                return .failure(.scoring("a submission's scorer must use the engine's model and calibration"))
            }
        }
        let ticket = Ticket(count: inputs.count, detail: detail, deadlineMilliseconds: deadlineMilliseconds,
                            now: DispatchTime.now().uptimeNanoseconds)
        if let refusal = enqueue(inputs, ticket: ticket, priority: options.priority) {
            if case .overloaded = refusal { metrics.patchesRejected.increment(by: inputs.count) }
            return .failure(refusal)
        }
        if let deadlineMilliseconds {
            // The deadline fires even while every worker is busy; a worker also checks it before compute.
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(deadlineMilliseconds)) { [weak ticket] in
                ticket?.fail(.deadlineExceeded(milliseconds: deadlineMilliseconds))
            }
        }
        return .success(ticket)
    }

    /// The result with every score re-derived by the submission's own scorer, when it has one that differs
    /// from the engine's (``SubmissionOptions/scorer``).
    private func rescoring(_ result: Result<BatchOutcome, ServiceError>,
                           with options: SubmissionOptions) -> Result<BatchOutcome, ServiceError> {
        guard let own = options.scorer, let scorer, own.method != scorer.method || own.limit != scorer.limit,
              case .success(var outcome) = result else { return result }
        for index in outcome.patches.indices {
            guard let score = outcome.patches[index].score else { continue }
            do { outcome.patches[index].score = try own.score(score.statistics) } catch {
                return .failure(.scoring(error.description))
            }
        }
        return .success(outcome)
    }

    /// Why a request of `patches` patches would be refused now, or nil if it would be queued. The server
    /// asks this before it reads a request's body, so a full queue costs the client no upload.
    public func admissionRefusal(patches: Int = 1,
                                 priority: SubmissionPriority = SubmissionOptions.current.priority) -> ServiceError? {
        condition.lock()
        defer { condition.unlock() }
        return refusal(adding: patches, priority: priority)
    }

    /// Call with the lock held. Interactive requests are measured against the interactive patches waiting,
    /// background ones against all.
    private func refusal(adding count: Int, priority: SubmissionPriority) -> ServiceError? {
        guard accepting else { return .shuttingDown }
        let capacity = configuration.queueCapacity
        guard count <= capacity else { return .tooManyPatches(count: count, capacity: capacity) }
        let depth = priority == .interactive ? queue.count(of: .interactive) : queue.count
        guard depth + count <= capacity else {
            // Until a pass has finished, assume 10 patches/s per worker (a 2-core machine does ~20).
            let rate = throughput > 0 ? throughput : 10 * Double(configuration.workers)
            let seconds = Int((Double(depth + inFlight) / rate).rounded(.up))
            return .overloaded(queued: depth, capacity: capacity, retryAfterSeconds: min(max(1, seconds), 60))
        }
        return nil
    }

    private func enqueue(_ inputs: [PatchInput], ticket: Ticket, priority: SubmissionPriority) -> ServiceError? {
        condition.lock()
        defer { condition.unlock() }
        if let refusal = refusal(adding: inputs.count, priority: priority) { return refusal }
        queue.append(inputs.enumerated().map { QueuedPatch(ticket: ticket, index: $0, input: $1) }, priority: priority)
        metrics.queueDepth.record(queue.count)
        condition.broadcast()
        return nil
    }

    /// ``drain()`` for a command-line thread.
    public func drainBlocking() {
        condition.lock()
        accepting = false
        while !queue.isEmpty || inFlight > 0 { condition.wait() }
        stopping = true
        condition.broadcast()
        while exited < threads.count { condition.wait() }
        condition.unlock()
    }

    /// Stops accepting, lets the workers finish every queued patch, then ends the threads.
    public func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                drainBlocking()
                continuation.resume()
            }
            thread.name = "histoae-drain"
            thread.start()
        }
    }

    /// Stops (`true`) or resumes the workers' taking of patches; queued patches wait meanwhile.
    func hold(_ value: Bool) {
        condition.lock()
        held = value
        condition.broadcast()
        condition.unlock()
    }

    // MARK: Worker side

    /// Blocks until a live patch is queued and takes it — the oldest interactive one, else the oldest background
    /// one; patches of resolved requests are dropped, expired ones fail their request. nil: stop.
    ///
    /// - Parameter threads: set to the cores the pass may use — every worker's for a lone patch while no other
    ///   worker is busy and nothing else waits (its latency then drops by the split's speedup), else 1.
    func nextPatch(threads: inout Int) -> QueuedPatch? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while queue.isEmpty || (held && !stopping) {
                if stopping { return nil }
                condition.wait()
            }
            if configuration.passDelay > .zero && !stopping {
                let until = Date(timeIntervalSinceNow: configuration.passDelay.seconds)
                while Date() < until && !stopping { _ = condition.wait(until: until) }
                if queue.isEmpty { continue }
            }
            guard let patch = queue.takeFirst() else { continue }
            metrics.queueDepth.record(queue.count)
            if patch.ticket.isExpired(at: DispatchTime.now().uptimeNanoseconds) {
                patch.ticket.fail(.deadlineExceeded(milliseconds: patch.ticket.deadlineMilliseconds ?? 0))
            }
            if patch.ticket.isResolved {
                metrics.patchesDropped.increment()
                condition.broadcast()    // the queue may have emptied: wake a draining caller
                continue
            }
            let alone = inFlight == 0 && queue.isEmpty
            threads = alone && configuration.blasThreads == 1 ? configuration.workers : 1
            inFlight += 1
            return patch
        }
    }

    /// A worker finished one patch in `seconds`.
    func finished(seconds: Double) {
        condition.lock()
        inFlight -= 1
        let rate = Double(configuration.workers) / max(seconds, 1e-6)
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
