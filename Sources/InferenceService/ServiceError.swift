/// Why a submission to the ``InferenceEngine`` produced no result.
public enum ServiceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The queue cannot take the patches now; retry after about this many seconds.
    case overloaded(queued: Int, capacity: Int, retryAfterSeconds: Int)
    /// More patches than the queue can ever hold.
    case tooManyPatches(count: Int, capacity: Int)
    /// The deadline passed before the patches were computed.
    case deadlineExceeded(milliseconds: Int)
    /// The caller went away (task cancelled, client disconnected).
    case cancelled
    /// The engine is draining for shutdown and accepts nothing new.
    case shuttingDown
    /// Scoring failed (non-finite statistics: a model producing NaN).
    case scoring(String)

    public var description: String {
        switch self {
        case let .overloaded(queued, capacity, retryAfter):
            "the inference queue is full (\(queued) of \(capacity) patches waiting); retry in about \(retryAfter) s"
        case let .tooManyPatches(count, capacity):
            "\(count) patches exceed the inference queue's capacity of \(capacity)"
        case let .deadlineExceeded(milliseconds):
            "the deadline of \(milliseconds) ms passed before the patches were computed"
        case .cancelled: "the request was cancelled"
        case .shuttingDown: "the service is shutting down"
        case let .scoring(message): "scoring failed: \(message)"
        }
    }
}
