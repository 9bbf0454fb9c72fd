import Foundation
import InferenceService
@testable import ScanJobs
import Scoring
import SlideScanning
import Testing

/// Jobs run on the shared CMU slide through a real engine: results on disk, a corrupt slide a failed job with
/// one readable line, cancellation, the job limit, deletion, retention, and a restart that keeps finished jobs
/// and marks unfinished ones interrupted.
@Suite(.serialized, .enabled(if: ScanJobFixtures.available, ScanJobFixtures.skipReason))
struct ScanJobRunnerTests {
    @Test func aJobScansTheSlideWithItsOwnMethodAndWritesTheFourResults() async throws {
        try await ScanJobFixtures.withRunner { runner, _, _ in
        var parameters = ScanParameters()
        parameters.method = .combined
        parameters.threshold = .fpr(0.05)
        let job = try runner.submit(slide: "cmu.svs", parameters: parameters)
        let done = try await ScanJobFixtures.wait(for: job.id, in: runner) { $0.state.isFinished }

        #expect(done.state == .succeeded, "\(done.error ?? "")")
        #expect(done.tilesTotal == 98 && done.tilesDone == 98)
        #expect((done.normalTiles ?? 0) + (done.anomalousTiles ?? 0) + (done.notTissueTiles ?? 0) == 98)
        #expect(done.startedAt != nil && done.finishedAt != nil && (done.tilesPerSecond ?? 0) > 0)
        for name in ["tiles.csv", "tiles.geojson", "heatmap.png", "summary.json"] {
            #expect(FileManager.default.fileExists(atPath: try runner.result(id: job.id, name: name).path), "\(name)")
        }
        let summary = try JSONDecoder().decode(ScanSummary.self, from: Data(contentsOf: try runner.result(id: job.id, name: "summary.json")))
        #expect(summary.method == .combined && abs(summary.fpr - 0.05) < 1e-12)
        #expect(summary.verdicts.anomalous == done.anomalousTiles)
        #expect(try runner.list(limit: 10, before: nil).map(\.id) == [job.id])
        }
    }

    @Test func aCorruptSlideIsAFailedJobWithOneReadableLine() async throws {
        try await ScanJobFixtures.withRunner { runner, root, _ in
        let job = try runner.submit(slide: "broken.svs", parameters: ScanParameters())
        let done = try await ScanJobFixtures.wait(for: job.id, in: runner) { $0.state.isFinished }
        #expect(done.state == .failed)
        let error = try #require(done.error)
        #expect(error.hasPrefix("broken.svs: ") && !error.contains("\n") && !error.contains(root.path), "\(error)")
        #expect(throws: ScanJobError.notSucceeded(id: job.id, state: .failed)) { try runner.result(id: job.id, name: "tiles.csv") }
        #expect(!FileManager.default.fileExists(atPath: runner.resultsFolder.appendingPathComponent(job.id).path))
        }
    }

    @Test func refusalsComeBeforeAnyJobIsCreated() async throws {
        try await ScanJobFixtures.withRunner { runner, _, _ in
        var parameters = ScanParameters()
        parameters.stride = 0
        #expect { try runner.submit(slide: "cmu.svs", parameters: parameters) } throws: {
            guard case ScanJobError.invalidParameters(let reason) = $0 else { return false }
            return reason.hasPrefix("stride ")
        }
        parameters = ScanParameters()
        parameters.threshold = .fpr(1.5)
        #expect(throws: ScanJobError.self) { try runner.submit(slide: "cmu.svs", parameters: parameters) }
        #expect(throws: ScanJobError.slide(.parentComponent("../state/scans.sqlite"))) {
            try runner.submit(slide: "../state/scans.sqlite", parameters: ScanParameters())
        }
        #expect(throws: ScanJobError.slide(.missing("none.svs"))) { try runner.submit(slide: "none.svs", parameters: ScanParameters()) }
        let listed = try runner.list(limit: 10, before: nil)
        #expect(listed.isEmpty)
        }
    }

    @Test func cancellingARunningJobStopsItAndRemovesItsFiles() async throws {
        // A slowed engine: ~98 tiles in 5 s.
        try await ScanJobFixtures.withRunner(passDelay: .milliseconds(100), configure: { $0.maxJobs = 2 }) { runner, _, _ in
        let running = try runner.submit(slide: "cmu.svs", parameters: ScanParameters())
        let queued = try runner.submit(slide: "cmu.svs", parameters: ScanParameters())
        #expect(throws: ScanJobError.tooManyJobs(limit: 2)) { try runner.submit(slide: "cmu.svs", parameters: ScanParameters()) }
        let started = try await ScanJobFixtures.wait(for: running.id, in: runner) { $0.tilesDone > 0 || $0.state.isFinished }
        #expect(started.state == .running && started.tilesTotal == 98)
        #expect(try runner.job(id: queued.id).state == .queued)
        #expect(try !runner.delete(id: running.id))        // active jobs are cancelled, not deleted

        let cancelledQueued = try await runner.cancel(id: queued.id)
        #expect(cancelledQueued.state == .cancelled)
        let cancelled = try await runner.cancel(id: running.id)
        #expect(cancelled.state == .cancelled && cancelled.tilesDone < 98 && cancelled.error != nil)
        #expect(!FileManager.default.fileExists(atPath: runner.resultsFolder.appendingPathComponent(running.id).path))

        // Finished jobs are deleted, record and files.
        #expect(try runner.delete(id: running.id))
        #expect(throws: ScanJobError.notFound(id: running.id)) { try runner.job(id: running.id) }
        }
    }

    @Test func aRestartKeepsFinishedJobsAndMarksUnfinishedOnesInterrupted() async throws {
        try await ScanJobFixtures.withRunner(passDelay: .milliseconds(30)) { first, root, state in
        let finished = try first.submit(slide: "cmu.svs", parameters: ScanParameters())
        _ = try await ScanJobFixtures.wait(for: finished.id, in: first) { $0.state.isFinished }
        let running = try first.submit(slide: "cmu.svs", parameters: ScanParameters())
        let queued = try first.submit(slide: "cmu.svs", parameters: ScanParameters())
        _ = try await ScanJobFixtures.wait(for: running.id, in: first) { $0.tilesDone > 0 }
        await first.shutdown()          // SIGTERM: the running and queued jobs end interrupted

        // A crash leaves a job marked running and its partial files behind: the next server cleans up.
        var crashed = ScanJob(slide: "cmu.svs", parameters: ScanParameters())
        crashed.state = .running
        try ScanJobStore(path: state.appendingPathComponent("scans.sqlite").path).insert(crashed)
        let partial = state.appendingPathComponent("scans/\(crashed.id)")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: partial.appendingPathComponent("tiles.csv.partial"))

        let second = try ScanJobFixtures.runner(root: root, state: state, engine: first.engine)
        let jobs = Dictionary(uniqueKeysWithValues: try second.list(limit: 10, before: nil).map { ($0.id, $0) })
        #expect(jobs.count == 4)
        #expect(jobs[finished.id]?.state == .succeeded)
        #expect(FileManager.default.fileExists(atPath: try second.result(id: finished.id, name: "heatmap.png").path))
        for id in [running.id, queued.id, crashed.id] {
            #expect(jobs[id]?.state == .interrupted && jobs[id]?.error != nil, "\(id)")
        }
        #expect(!FileManager.default.fileExists(atPath: partial.path))
        #expect(!FileManager.default.fileExists(atPath: state.appendingPathComponent("scans/\(running.id)").path))

        // Retention: a day later, with the default week, all stay; eight days later, all go.
        second.purgeExpired(now: Date().addingTimeInterval(86_400))
        #expect(try second.list(limit: 10, before: nil).count == 4)
        second.purgeExpired(now: Date().addingTimeInterval(8 * 86_400))
        #expect(try second.list(limit: 10, before: nil).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: state.appendingPathComponent("scans/\(finished.id)").path))
        await second.shutdown()
        }
    }
}
