import Dispatch

/// Splits a kernel's non-GEMM loops (transforms, gathers, epilogues, resizes) across threads when a forward
/// pass runs alone on the machine — batch 1, where OpenBLAS already spreads each GEMM over every core but
/// everything between the GEMMs would otherwise run on one. ``ScratchBuffer/threads`` says how many.
enum Parallel {
    /// Calls `body(part, range)` for `parts` contiguous, near-equal slices of `0..<count`, concurrently, and
    /// returns when all are done. With one part (the default for independent workers) it runs inline.
    @inline(__always)
    static func forEach(_ count: Int, parts: Int, _ body: (_ part: Int, _ range: Range<Int>) -> Void) {
        let parts = max(1, min(parts, count))
        if parts == 1 {
            body(0, 0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                shared.value(part, (count * part / parts)..<(count * (part + 1) / parts))
            }
        }
    }
}

/// Hands a non-`Sendable` value to ``Parallel``'s threads; each part touches disjoint memory.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
