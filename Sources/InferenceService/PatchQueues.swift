/// The ``InferenceEngine``'s waiting patches: one FIFO per ``SubmissionPriority``. ``takeFirst()`` hands out the
/// oldest interactive patch while there is one, else the oldest background one — except that after
/// ``interactiveRun`` interactive patches in a row while background work waited, one background patch goes
/// next, so a scan still advances (at least 1/(run + 1) of the passes) when patch requests keep every worker
/// busy, and a patch waits at most one extra pass for it. Not thread-safe: the engine holds its lock around
/// every call.
///
/// ```swift
/// var queues = PatchQueues()
/// queues.append([tile], priority: .background)
/// queues.append([patch], priority: .interactive)
/// queues.takeFirst()          // the interactive patch, though it came second
/// ```
struct PatchQueues {
    private var interactive = PatchFIFO()
    private var background = PatchFIFO()
    /// Interactive patches handed out in a row while background ones waited.
    private var passedOver = 0
    /// How many interactive patches may pass waiting background work before one background patch goes.
    static let interactiveRun = 8

    /// Patches waiting, both priorities.
    var count: Int { interactive.count + background.count }
    var isEmpty: Bool { count == 0 }

    /// Patches waiting at `priority`.
    func count(of priority: SubmissionPriority) -> Int {
        priority == .interactive ? interactive.count : background.count
    }

    mutating func append(_ patches: [QueuedPatch], priority: SubmissionPriority) {
        switch priority {
        case .interactive: interactive.append(patches)
        case .background: background.append(patches)
        }
    }

    /// The oldest interactive patch, else the oldest background one (every ``interactiveRun`` + 1-th take
    /// while both wait: the background one); nil when none waits.
    mutating func takeFirst() -> QueuedPatch? {
        if background.count > 0 && (interactive.count == 0 || passedOver >= Self.interactiveRun) {
            passedOver = 0
            return background.popFirst()
        }
        guard let patch = interactive.popFirst() else { return nil }
        passedOver = background.count > 0 ? passedOver + 1 : 0
        return patch
    }
}

/// A FIFO over an array: `head` is the first live slot, compacted as it grows. A taken slot is set to nil at
/// once, so the up to 1024 taken slots before a compaction hold no decoded image or ticket (under steady load
/// they held ~70 MB that way).
struct PatchFIFO {
    private var slots: [QueuedPatch?] = []
    private var head = 0

    var count: Int { slots.count - head }

    mutating func append(_ patches: [QueuedPatch]) {
        slots.append(contentsOf: patches.lazy.map { Optional($0) })
    }

    mutating func popFirst() -> QueuedPatch? {
        guard head < slots.count else { return nil }
        guard let patch = slots[head] else { preconditionFailure("PatchFIFO: a live queue slot is empty") }
        slots[head] = nil
        head += 1
        if head > 1024 || head == slots.count {
            slots.removeFirst(head)
            head = 0
        }
        return patch
    }
}
