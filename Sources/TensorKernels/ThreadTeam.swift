import Foundation
import Synchronization

/// The helper threads a forward pass running alone (batch 1, or a lone patch on an idle server) splits its
/// loops and GEMMs across: one per core beyond the caller's, owned by this process and used for nothing else,
/// so heavy compute never lands on Dispatch's shared pool or Swift's cooperative pool.
///
/// A pass hands out a hundred or so loops of 20–500 µs each, so a hand-off must cost far less than that:
/// helpers spin on an atomic generation counter for a while (about 100 µs) after each loop, then sleep on a
/// condition, so an idle process burns nothing. The caller runs part 0 itself.
///
/// One caller at a time: a concurrent second caller (or a loop nested in a part) runs its parts inline.
///
/// ```swift
/// ThreadTeam.shared.run(parts: 2) { part in work(part) }   // part 0 here, part 1 on a helper
/// ```
public final class ThreadTeam: @unchecked Sendable {
    /// One helper per core beyond the caller's.
    public static let shared = ThreadTeam(helpers: max(0, ProcessInfo.processInfo.activeProcessorCount - 1))

    public let helpers: Int
    /// Bumped once per loop; each helper runs its share of the job of every new value it sees.
    private let generation = Atomic<Int>(0)
    /// Helpers that have not yet answered the current generation. Every helper answers every one (those
    /// without a part at once), so none can still be reading `job` when the caller writes the next.
    private let pending = Atomic<Int>(0)
    /// Held by the one caller using the team.
    private let busy = Atomic<Bool>(false)
    /// The current loop: written before `generation` is bumped (release), read after it is seen (acquire).
    private var job: ((Int) -> Void)?
    private var parts = 0
    private let wakeUp = NSCondition()
    /// Polls of `generation` before a helper sleeps.
    private static let spinLimit = 20_000

    init(helpers: Int) {
        self.helpers = helpers
        for index in 0..<helpers {
            let thread = Thread { [self] in
                ThreadName.set("hae-team-\(index + 1)")
                loop(helper: index + 1)
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Calls `body(part)` once for every part in `0..<parts`, spread over the caller and the helpers
    /// (thread `t` takes parts `t`, `t + threads`, …), and returns when all are done.
    public func run(parts: Int, _ body: (Int) -> Void) {
        guard min(parts, helpers + 1) > 1,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            self.parts = parts
            pending.store(helpers, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            wakeUp.lock()
            wakeUp.broadcast()
            wakeUp.unlock()
            let threads = min(parts, helpers + 1)
            var part = 0
            while part < parts {
                body(part)
                part += threads
            }
            while pending.load(ordering: .acquiring) > 0 {}
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    private func loop(helper: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins > Self.spinLimit {
                    wakeUp.lock()
                    while generation.load(ordering: .acquiring) == seen { wakeUp.wait() }
                    wakeUp.unlock()
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            let threads = min(parts, helpers + 1)
            if helper < threads, let job {
                var part = helper
                while part < parts {
                    job(part)
                    part += threads
                }
            }
            pending.subtract(1, ordering: .releasing)
        }
    }
}
