import Foundation
import Synchronization
import Testing
@testable import TensorKernels

@Suite("Thread team")
struct ThreadTeamTests {
    /// `counts[part]` after a run: how many times each part ran.
    static func counts(_ team: ThreadTeam, parts: Int) -> [Int] {
        let slots = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
        defer { slots.deallocate() }
        slots.initialize(repeating: 0)
        let pointer = slots.baseAddress!
        team.run(parts: parts) { part in pointer[part] += 1 }   // each part owns its slot
        return Array(slots)
    }

    @Test("every part runs exactly once, many times over", arguments: [0, 1, 2, 3, 7])
    func everyPartOnce(parts: Int) {
        for _ in 0..<200 {
            #expect(Self.counts(ThreadTeam.shared, parts: parts) == Array(repeating: 1, count: parts))
        }
    }

    /// On a team of its own: the shared one may be busy with another test's pass, and then runs inline.
    @Test("the parts run on the caller and on a helper thread")
    func partsRunOnHelpers() {
        let team = ThreadTeam(helpers: 1)
        let caller = pthread_self()
        let threads = Mutex<[pthread_t]>([])
        team.run(parts: 2) { _ in
            threads.withLock { $0.append(pthread_self()) }
            Thread.sleep(forTimeInterval: 0.01)     // long enough that the caller cannot take both parts
        }
        let seen = threads.withLock { $0 }
        #expect(seen.count == 2 && seen.contains(caller) && seen.contains { pthread_equal($0, caller) == 0 })
        #expect(Self.counts(team, parts: 9) == Array(repeating: 1, count: 9))
    }

    @Test("concurrent callers and nested loops run inline instead of waiting")
    func concurrentAndNested() async {
        await withTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var all: [Int] = []
                    for _ in 0..<50 { all += Self.counts(ThreadTeam.shared, parts: 5) }
                    return all
                }
            }
            for await counts in group { #expect(counts == Array(repeating: 1, count: 250)) }
        }
        let inner = Mutex(0)
        ThreadTeam.shared.run(parts: 2) { _ in
            let counts = Self.counts(ThreadTeam.shared, parts: 3)
            inner.withLock { $0 += counts.reduce(0, +) }
        }
        #expect(inner.withLock { $0 } == 6)
    }
}
