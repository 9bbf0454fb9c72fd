import Foundation
@testable import ScanJobs
import Scoring
import Testing

/// The job store on a real SQLite file in a temporary folder: records go in, change, list newest first in
/// pages, come out after a reopen, and a reopen marks the jobs left queued or running interrupted.
struct ScanJobStoreTests {
    static func store() throws -> (ScanJobStore, String) {
        let path = try ScanJobFixtures.temporaryFolder().appendingPathComponent("scans.sqlite").path
        return (try ScanJobStore(path: path), path)
    }

    @Test func createUpdateReadAndDelete() throws {
        let (store, _) = try Self.store()
        var parameters = ScanParameters()
        parameters.stride = 75
        parameters.slideMPP = 0.25
        parameters.method = .combined
        parameters.threshold = .fpr(0.001)
        let job = ScanJob(slide: "2024/case 17.svs", parameters: parameters)
        try store.insert(job)
        #expect(try store.job(id: job.id) == job)
        #expect(try store.job(id: job.id)?.parameters == parameters)
        #expect(UUID(uuidString: job.id) != nil && job.id == job.id.lowercased())

        let updated = try store.update(id: job.id) { $0.state = .running; $0.tilesDone = 32; $0.tilesTotal = 100; return true }
        #expect(updated?.state == .running && updated?.tilesDone == 32)
        #expect(try store.job(id: job.id)?.tilesTotal == 100)
        #expect(try store.update(id: job.id) { $0.tilesDone = 99; return false } == nil)
        #expect(try store.job(id: job.id)?.tilesDone == 32)
        #expect(try store.update(id: "no-such-job") { _ in true } == nil)

        #expect(try store.delete(id: job.id))
        #expect(try store.job(id: job.id) == nil)
        #expect(try !store.delete(id: job.id))
    }

    @Test func listsNewestFirstInPages() throws {
        let (store, _) = try Self.store()
        let jobs = (0..<7).map { ScanJob(slide: "s\($0).svs", parameters: ScanParameters()) }
        for job in jobs { try store.insert(job) }
        let first = try store.list(limit: 3)
        #expect(first.map(\.slide) == ["s6.svs", "s5.svs", "s4.svs"])
        let second = try store.list(limit: 3, before: first.last!.id)
        #expect(second.map(\.slide) == ["s3.svs", "s2.svs", "s1.svs"])
        let last = try store.list(limit: 3, before: second.last!.id)
        #expect(last.map(\.slide) == ["s0.svs"])
        #expect(throws: ScanJobError.notFound(id: "nope")) { try store.list(limit: 3, before: "nope") }
        let counts = try store.countsByState()
        #expect(counts[.queued] == 7 && counts[.succeeded] == 0 && counts.count == ScanJobState.allCases.count)
        #expect(try store.queuedIDs() == jobs.map(\.id))
    }

    @Test func reopeningMarksQueuedAndRunningJobsInterrupted() throws {
        let (store, path) = try Self.store()
        let queued = ScanJob(slide: "q.svs", parameters: ScanParameters())
        var running = ScanJob(slide: "r.svs", parameters: ScanParameters())
        running.state = .running
        var succeeded = ScanJob(slide: "s.svs", parameters: ScanParameters())
        succeeded.state = .succeeded
        succeeded.finishedAt = Date()
        succeeded.anomalousTiles = 3
        for job in [queued, running, succeeded] { try store.insert(job) }

        // A new store on the same file: what a restarted server opens.
        let reopened = try ScanJobStore(path: path)
        let interrupted = try reopened.markUnfinishedInterrupted(at: Date())
        #expect(Set(interrupted) == [queued.id, running.id])
        for id in interrupted {
            let job = try #require(try reopened.job(id: id))
            #expect(job.state == .interrupted && job.finishedAt != nil && job.error != nil)
        }
        #expect(try reopened.job(id: succeeded.id) == succeeded)
        #expect(try reopened.list(limit: 10).count == 3)
        #expect(try reopened.markUnfinishedInterrupted(at: Date()).isEmpty)
    }

    @Test func retentionFindsOnlyFinishedJobsOlderThanTheCutoff() throws {
        let (store, _) = try Self.store()
        let now = Date()
        var old = ScanJob(slide: "old.svs", parameters: ScanParameters())
        old.state = .failed
        old.finishedAt = now.addingTimeInterval(-7200)
        var recent = ScanJob(slide: "recent.svs", parameters: ScanParameters())
        recent.state = .succeeded
        recent.finishedAt = now.addingTimeInterval(-60)
        var running = ScanJob(slide: "running.svs", parameters: ScanParameters())
        running.state = .running
        for job in [old, recent, running] { try store.insert(job) }
        #expect(try store.finishedIDs(before: now.addingTimeInterval(-3600)) == [old.id])
    }

    @Test func anUnusableDatabaseFileIsOneClearError() throws {
        let folder = try ScanJobFixtures.temporaryFolder()
        let path = folder.appendingPathComponent("scans.sqlite").path
        try Data("this is not an SQLite database, but it is long enough to have a header".utf8).write(to: URL(fileURLWithPath: path))
        #expect { try ScanJobStore(path: path) } throws: { error in
            guard case ScanJobError.store(let reason) = error else { return false }
            return reason.contains(path)
        }
    }
}
