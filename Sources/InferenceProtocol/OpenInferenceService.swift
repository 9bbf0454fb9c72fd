import InferenceService
import Scoring

/// The Open Inference Protocol (KServe v2) over HistoAE's one ``InferenceService/InferenceEngine``: health,
/// metadata and inference, independent of the transport. The REST routes (`/v2/…`) and the gRPC
/// `GRPCInferenceService` both call this, so both queue in the same engine under the same limits as `/v1`, and
/// answer the same bits `/v1` does for the same patches (same engine, scorer and threshold re-application).
///
/// An inference runs in three steps so that callers keep heavy work off event loops and Swift's cooperative
/// pool: ``plan(_:model:version:)`` and ``response(_:outcome:)`` copy every element (run them on a thread pool),
/// ``run(_:remainingMilliseconds:)`` only awaits the engine.
///
/// ```swift
/// let service = OpenInferenceService(engine: engine, scorer: scorer, limits: .init(maxPatches: 256, defaultDeadlineMilliseconds: 30_000))
/// let plan = try service.plan(request, model: "histoae", version: nil)
/// let outcome = try await service.run(plan, remainingMilliseconds: 30_000).get()
/// let response = try service.response(plan, outcome: outcome)
/// ```
public struct OpenInferenceService: Sendable {
    public struct Limits: Sendable {
        /// Patches in one request (`--max-patches`, as `/v1`).
        public var maxPatches: Int
        /// The server's deadline (`--deadline-ms`); a request's `timeout` can only shorten it.
        public var defaultDeadlineMilliseconds: Int
        /// The most bytes one answer may take (`--max-response-bytes`, as `/v1`), checked at its worst case
        /// before any work: six JSON outputs of 256 patches would otherwise be about 300 MB.
        public var maxResponseBytes: Int

        public init(maxPatches: Int, defaultDeadlineMilliseconds: Int, maxResponseBytes: Int = 64 << 20) {
            self.maxPatches = maxPatches
            self.defaultDeadlineMilliseconds = defaultDeadlineMilliseconds
            self.maxResponseBytes = maxResponseBytes
        }
    }

    public let signature: ModelSignature
    public let limits: Limits
    let engine: InferenceEngine
    /// The engine's scorer: re-applies a request's own threshold to the scores it made (as `/v1`).
    let scorer: PatchScorer

    public init(engine: InferenceEngine, scorer: PatchScorer, limits: Limits) {
        self.engine = engine
        self.scorer = scorer
        self.limits = limits
        signature = ModelSignature(model: scorer.model, precision: engine.precision)
    }

    /// The server's name and version (`ServerMetadata`), and the protocol extensions it speaks.
    public static let serverName = "histoae"
    public static let extensions = ["binary_tensor_data"]

    /// Live: the process answers (the protocol's `ServerLive`).
    public var isLive: Bool { true }
    /// Ready: the engine takes interactive work (started, not draining, queue not full).
    public var isReady: Bool { engine.isReady }

    /// The engine's refusal of one more request now (full queue, draining), checked before a body is read.
    public func admissionRefusal() -> InferenceError? { engine.admissionRefusal()?.inferenceError }

    /// Readiness of `model` (and `version`): ready when it is this model and the engine is ready.
    public func isModelReady(_ model: String, version: String?) throws(InferenceError) -> Bool {
        guard signature.matches(name: model, version: version) else { throw signature.notFound(name: model, version: version) }
        return engine.isReady
    }

    /// The model's metadata, or ``InferenceError/Kind/notFound``.
    public func metadata(_ model: String, version: String?) throws(InferenceError) -> ModelSignature {
        guard signature.matches(name: model, version: version) else { throw signature.notFound(name: model, version: version) }
        return signature
    }

    /// Checks `request` against the model and the limits and copies its patches out. Costs a copy of every
    /// input element: call it on a thread pool.
    ///
    /// - Parameter rawOutputs: the transport sends every output raw (gRPC); else each as the plan says (REST's
    ///   JSON or binary data). The answer's worst case is checked against ``Limits/maxResponseBytes``.
    public func plan(_ request: InferenceRequest, model: String, version: String?,
                     rawOutputs: Bool = false) throws(InferenceError) -> InferencePlan {
        guard signature.matches(name: model, version: version) else { throw signature.notFound(name: model, version: version) }
        let plan = try InferencePlan(request, maxPatches: limits.maxPatches)
        let answer = plan.responseBytes(raw: rawOutputs)
        if answer > limits.maxResponseBytes {
            let allowed = limits.maxResponseBytes / max(1, plan.responseBytes(raw: rawOutputs, patches: 1))
            throw InferenceError(.tooLarge, "an answer with these outputs for \(plan.patches.count) patches could take \(answer) bytes, over this server's response limit of \(limits.maxResponseBytes); send at most \(allowed) patches per request for these outputs (binary data or fewer outputs allow more)")
        }
        if plan.threshold != .default {
            do { _ = try Threshold(plan.threshold) } catch { throw .invalid(error.description) }
        }
        return plan
    }

    /// The request's deadline in milliseconds: its `timeout` if shorter than the server's.
    public func deadlineMilliseconds(_ plan: InferencePlan) -> Int {
        min(plan.timeoutMilliseconds ?? limits.defaultDeadlineMilliseconds, limits.defaultDeadlineMilliseconds)
    }

    /// Queues the plan's patches at the interactive priority and awaits them; the request's threshold is applied
    /// to the scores. Cancelling the calling task drops its queued patches.
    public func run(_ plan: InferencePlan, remainingMilliseconds: Int) async -> Result<BatchOutcome, InferenceError> {
        guard remainingMilliseconds >= 1 else {
            return .failure(ServiceError.deadlineExceeded(milliseconds: deadlineMilliseconds(plan)).inferenceError)
        }
        let result = await engine.submit(inputs: plan.patches, detail: plan.detail, deadlineMilliseconds: remainingMilliseconds)
        switch result {
        case .failure(.deadlineExceeded):  // name the request's deadline, not what was left of it
            return .failure(ServiceError.deadlineExceeded(milliseconds: deadlineMilliseconds(plan)).inferenceError)
        case .failure(let error): return .failure(error.inferenceError)
        case .success(var outcome):
            guard plan.threshold != .default else { return .success(outcome) }
            for index in outcome.patches.indices {
                guard let score = outcome.patches[index].score else { continue }
                do { outcome.patches[index].score = try scorer.rethresholded(score, threshold: plan.threshold) } catch {
                    return .failure(.invalid(error.description))
                }
            }
            return .success(outcome)
        }
    }

    /// The outputs the plan asked for. Copies every output element: call it on a thread pool.
    public func response(_ plan: InferencePlan, outcome: BatchOutcome) throws(InferenceError) -> InferenceResponse {
        try InferenceResponse(plan: plan, outcome: outcome, signature: signature)
    }
}

extension ServiceError {
    /// The engine's refusal in the protocol's terms.
    public var inferenceError: InferenceError {
        switch self {
        case let .overloaded(_, _, retryAfter): InferenceError(.unavailable(retryAfterSeconds: retryAfter), description)
        case .tooManyPatches: InferenceError(.tooLarge, description)
        case .deadlineExceeded: InferenceError(.deadlineExceeded, description)
        case .cancelled: InferenceError(.cancelled, description)
        case .shuttingDown: InferenceError(.unavailable(retryAfterSeconds: 1), description)
        case .scoring: InferenceError(.internal, description)
        }
    }
}
