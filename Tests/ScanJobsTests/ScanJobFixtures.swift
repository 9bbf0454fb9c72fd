import AutoencoderModel
import Foundation
import InferenceService
import Scoring
@testable import ScanJobs
import Testing

/// What the scan-job tests share: temporary folders, the default model (models/default), and a slide root
/// holding links to the shared slides (`../shared/data/slides`, next to the repository; the tests that need
/// them are skipped, with ``skipReason``, when they are absent).
enum ScanJobFixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let slides = repository.deletingLastPathComponent().appendingPathComponent("shared/data/slides")
    static let cmu = slides.appendingPathComponent("cmu-1-small-region.svs").path
    static let broken = slides.appendingPathComponent("broken.svs").path
    static let available = [cmu, broken].allSatisfy { FileManager.default.fileExists(atPath: $0) }
    static let skipReason: Comment = "../shared/data/slides (cmu-1-small-region.svs, broken.svs) is absent"

    static let bundle: ModelBundle = try! ModelBundle.load(repository.appendingPathComponent("models/default"))
    static let scorer: PatchScorer = try! PatchScorer(card: bundle.card!)

    /// A fresh temporary folder.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("scan-jobs-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A slide root with copies of the shared slides as `cmu.svs` and `broken.svs` (links would lead out of
    /// the root, which is refused), and an empty state folder.
    static func folders() throws -> (root: URL, state: URL) {
        let base = try temporaryFolder()
        let root = base.appendingPathComponent("slides"), state = base.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: cmu, toPath: root.appendingPathComponent("cmu.svs").path)
        try FileManager.default.copyItem(atPath: broken, toPath: root.appendingPathComponent("broken.svs").path)
        return (root, state)
    }

    /// A started engine (two workers, optionally slowed so a scan can be caught running).
    static func engine(passDelay: Duration = .zero) -> InferenceEngine {
        var configuration = EngineConfiguration(workers: 2, blasThreads: 1, queueCapacity: 256)
        configuration.passDelay = passDelay
        let engine = InferenceEngine(model: bundle.model, scorer: scorer, configuration: configuration)
        engine.start()
        return engine
    }

    static func runner(root: URL, state: URL, engine: InferenceEngine) throws -> ScanJobRunner {
        var configuration = ScanJobsConfiguration()
        configuration.slideRoot = root.path
        configuration.stateDirectory = state.path
        return try ScanJobRunner(configuration: configuration, engine: engine, scorer: scorer, card: bundle.card!)
    }

    /// Runs `body` with a runner on a fresh engine, then shuts both down whatever `body` did (an engine must
    /// drain before it goes: its workers hold it unowned).
    static func withRunner<T>(passDelay: Duration = .zero, configure: (inout ScanJobsConfiguration) -> Void = { _ in },
                              _ body: (ScanJobRunner, URL, URL) async throws -> T) async throws -> T {
        let (root, state) = try folders()
        let engine = engine(passDelay: passDelay)
        var configuration = ScanJobsConfiguration()
        configuration.slideRoot = root.path
        configuration.stateDirectory = state.path
        configure(&configuration)
        let runner: ScanJobRunner
        do { runner = try ScanJobRunner(configuration: configuration, engine: engine, scorer: scorer, card: bundle.card!) } catch {
            await engine.drain()
            throw error
        }
        do {
            let value = try await body(runner, root, state)
            await runner.shutdown()
            await engine.drain()
            return value
        } catch {
            await runner.shutdown()
            await engine.drain()
            throw error
        }
    }

    /// Polls until the job satisfies `done` (at most `seconds`); the job then.
    static func wait(for id: String, in runner: ScanJobRunner, seconds: Double = 300,
                     until done: (ScanJob) -> Bool) async throws -> ScanJob {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while true {
            let job = try runner.job(id: id)
            if done(job) || ContinuousClock.now > deadline { return job }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
