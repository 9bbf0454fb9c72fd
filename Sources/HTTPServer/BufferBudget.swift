import NIOConcurrencyHelpers

/// The bytes of request bodies and answers held in memory across all requests
/// (``ConnectionLimits/maxBufferedBytes``): a request reserves what it is about to buffer — its body as it
/// arrives, its answer's worst case before any work — and gives it back once its body is no longer needed
/// and its answer has been written. A crowd of parked uploads, or of clients that ask for large answers and
/// do not read them, is refused with 503 instead of exhausting the pod.
///
/// ```swift
/// let budget = BufferBudget(limit: 192 << 20)
/// guard budget.reserve(contentLength) else { throw Problem(.serviceUnavailable, …) }
/// defer { budget.release(contentLength) }
/// ```
final class BufferBudget: Sendable {
    let limit: Int
    private let used = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = limit }

    /// Takes `bytes` from the budget; false, taking nothing, when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        guard bytes >= 0 else { return false }
        return used.withLockedValue { value in
            guard bytes <= limit - value else { return false }
            value += bytes
            return true
        }
    }

    func release(_ bytes: Int) { used.withLockedValue { $0 -= bytes } }

    var inUse: Int { used.withLockedValue { $0 } }
}

extension BufferBudget {
    /// Bytes taken from a budget for as long as this object lives: given back when the last reference goes,
    /// so an answer that is never written cannot leak its share.
    final class Reservation: Sendable {
        let budget: BufferBudget
        let bytes: Int

        fileprivate init(budget: BufferBudget, bytes: Int) {
            self.budget = budget
            self.bytes = bytes
        }

        deinit { budget.release(bytes) }
    }

    /// `bytes` held until the returned reservation is released; nil when they do not fit.
    func hold(_ bytes: Int) -> Reservation? {
        reserve(bytes) ? Reservation(budget: self, bytes: bytes) : nil
    }

    /// ``hold(_:)``, or the 503 (+ `Retry-After`) every route answers when the budget is spent.
    func holdOrRefuse(_ bytes: Int) throws -> Reservation {
        guard let reservation = hold(bytes) else {
            throw Problem(.serviceUnavailable, "the server holds \(limit) bytes of uploads and answers at once, its limit; retry shortly",
                          extra: ["limit_bytes": .int(limit)], headers: [.retryAfter: "1"])
        }
        return reservation
    }
}
