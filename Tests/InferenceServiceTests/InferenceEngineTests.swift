import AutoencoderModel
import Foundation
import ImageCodecs
@testable import InferenceService
import Scoring
import Testing

/// The shipped default model (repository `models/default`) and two real H&E patches.
enum ServiceFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let bundle: ModelBundle = try! ModelBundle.load(root.appendingPathComponent("models/default"))
    static let scorer: PatchScorer = try! PatchScorer(card: bundle.card!)

    static func patch(_ index: Int) throws -> RGBImage {
        let url = root.appendingPathComponent("Tests/ScoringTests/Fixtures/patch\(index % 2).png")
        var image = try ImageDecoder.decode([UInt8](Data(contentsOf: url)))
        // Make the patches of a batch differ: shift the pixels by `index` (wrapping) past the first two.
        if index >= 2 { image.pixels = image.pixels.map { $0 &+ UInt8(truncatingIfNeeded: index) } }
        return image
    }

    /// A started engine; `held`: its workers take nothing until ``InferenceEngine/hold(_:)`` releases them.
    static func engine(held: Bool = false, _ configure: (inout EngineConfiguration) -> Void = { _ in }) -> InferenceEngine {
        var configuration = EngineConfiguration(workers: 2, blasThreads: 1, queueCapacity: 64)
        configure(&configuration)
        let engine = InferenceEngine(model: bundle.model, scorer: scorer, configuration: configuration)
        engine.hold(held)
        engine.start()
        return engine
    }
}

@Suite(.serialized) struct InferenceEngineTests {
    @Test func patchAloneAndAmong16GiveIdenticalResults() async throws {
        let images = try (0..<16).map(ServiceFixtures.patch)
        // Alone on an idle engine: its pass split across both workers' cores.
        let alone = ServiceFixtures.engine()
        let single = try await alone.submit([images[5]], detail: .full, deadlineMilliseconds: 120_000).get()
        await alone.drain()

        // Among 15 others queued at once, on one worker.
        let crowded = ServiceFixtures.engine { $0.workers = 1 }
        let batch = try await crowded.submit(images, detail: .full, deadlineMilliseconds: 120_000).get()
        await crowded.drain()

        #expect(batch.patches.count == 16)
        #expect(batch.patches[5].score == single.patches[0].score)
        #expect(batch.patches[5].reconstruction == single.patches[0].reconstruction)
        #expect(batch.patches[5].maps == single.patches[0].maps)
        #expect(batch.patches[0].score != batch.patches[5].score)
    }

    @Test func scoreDetailCarriesNoPictures() async throws {
        let engine = ServiceFixtures.engine()
        let outcome = try await engine.submit([try ServiceFixtures.patch(0)], detail: .score, deadlineMilliseconds: 60_000).get()
        await engine.drain()
        #expect(outcome.patches[0].reconstruction == nil && outcome.patches[0].maps == nil)
        #expect((0...1).contains(outcome.patches[0].score!.score))
    }

    @Test func fullQueueRefusesAtOnceWithRetryAfter() async throws {
        // Held workers: 8 patches sit in an 8-patch queue.
        let engine = ServiceFixtures.engine(held: true) { $0.queueCapacity = 8; $0.workers = 1 }
        let images = try (0..<8).map(ServiceFixtures.patch)
        let first = Task { await engine.submit(images, detail: .score, deadlineMilliseconds: 60_000) }
        while engine.queueDepth < 8 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!engine.isReady)
        let refused = await engine.submit([images[0]], detail: .score, deadlineMilliseconds: 60_000)
        guard case .failure(.overloaded(let queued, let capacity, let retryAfter)) = refused else {
            Issue.record("expected overloaded, got \(refused)"); return
        }
        #expect(queued == 8 && capacity == 8 && retryAfter >= 1)
        let tooMany = await engine.submit(images + images, detail: .score, deadlineMilliseconds: 60_000)
        guard case .failure(.tooManyPatches(16, 8)) = tooMany else { Issue.record("got \(tooMany)"); return }
        engine.hold(false)
        _ = try await first.value.get()
        await engine.drain()
    }

    @Test func expiredPatchesAreDroppedBeforeCompute() async throws {
        let engine = ServiceFixtures.engine(held: true) { $0.workers = 1 }
        let started = ContinuousClock.now
        let result = await engine.submit([try ServiceFixtures.patch(0)], detail: .score, deadlineMilliseconds: 50)
        guard case .failure(.deadlineExceeded(50)) = result else { Issue.record("got \(result)"); return }
        #expect(ContinuousClock.now - started < .milliseconds(900))   // answered at the deadline, while held
        engine.hold(false)
        await engine.drain()
    }

    @Test func cancellingTheCallerDropsItsPatches() async throws {
        let engine = ServiceFixtures.engine(held: true) { $0.workers = 1 }
        let image = try ServiceFixtures.patch(0)
        let task = Task { await engine.submit([image, image], detail: .score, deadlineMilliseconds: 60_000) }
        while engine.queueDepth < 2 { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        guard case .failure(.cancelled) = await task.value else { Issue.record("expected cancelled"); return }
        engine.hold(false)
        await engine.drain()
    }

    @Test func drainFinishesAcceptedWorkThenRefuses() async throws {
        let engine = ServiceFixtures.engine(held: true)
        let images = try (0..<4).map(ServiceFixtures.patch)
        let pending = Task { await engine.submit(images, detail: .score, deadlineMilliseconds: 60_000) }
        while engine.queueDepth < 4 { try await Task.sleep(for: .milliseconds(2)) }
        engine.hold(false)
        await engine.drain()
        let outcome = try await pending.value.get()
        #expect(outcome.patches.count == 4)
        let late = await engine.submit([images[0]], detail: .score, deadlineMilliseconds: 60_000)
        guard case .failure(.shuttingDown) = late else { Issue.record("got \(late)"); return }
    }

    @Test func configurationRejectsOutOfRangeSettings() {
        var configuration = EngineConfiguration()
        configuration.queueCapacity = 0
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        configuration = EngineConfiguration(workers: 0)
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        configuration = EngineConfiguration(blasThreads: 0)
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
    }
}
