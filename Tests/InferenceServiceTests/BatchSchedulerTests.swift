import AutoencoderModel
import Foundation
import ImageCodecs
import InferenceService
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

    static func scheduler(_ configure: (inout SchedulerConfiguration) -> Void = { _ in }) -> BatchScheduler {
        var configuration = SchedulerConfiguration(maxBatch: 16, maxDelay: .milliseconds(5), queueCapacity: 64,
                                                   workers: 2, blasThreads: 1)
        configure(&configuration)
        let scheduler = BatchScheduler(model: bundle.model, scorer: scorer, configuration: configuration)
        scheduler.start()
        return scheduler
    }
}

@Suite(.serialized) struct BatchSchedulerTests {
    @Test func patchAloneAndInABatchOf16GiveIdenticalResults() async throws {
        let images = try (0..<16).map(ServiceFixtures.patch)
        let alone = ServiceFixtures.scheduler()
        let single = try await alone.submit([images[5]], detail: .full, deadlineMilliseconds: 120_000).get()
        await alone.drain()

        // One worker and a long delay: all 16 patches form one batch.
        let batched = ServiceFixtures.scheduler { $0.workers = 1; $0.maxDelay = .seconds(2) }
        let batch = try await batched.submit(images, detail: .full, deadlineMilliseconds: 120_000).get()
        await batched.drain()

        #expect(batch.patches.count == 16)
        #expect(batch.patches[5].score == single.patches[0].score)
        #expect(batch.patches[5].reconstruction == single.patches[0].reconstruction)
        #expect(batch.patches[5].maps == single.patches[0].maps)
        #expect(batch.patches[0].score != batch.patches[5].score)
    }

    @Test func scoreDetailCarriesNoPictures() async throws {
        let scheduler = ServiceFixtures.scheduler()
        let outcome = try await scheduler.submit([try ServiceFixtures.patch(0)], detail: .score, deadlineMilliseconds: 60_000).get()
        await scheduler.drain()
        #expect(outcome.patches[0].reconstruction == nil && outcome.patches[0].maps == nil)
        #expect((0...1).contains(outcome.patches[0].score.score))
    }

    @Test func fullQueueRefusesAtOnceWithRetryAfter() async throws {
        // The batch cannot form for 3 s, so 8 patches sit in an 8-patch queue.
        let scheduler = ServiceFixtures.scheduler { $0.queueCapacity = 8; $0.maxDelay = .seconds(3); $0.workers = 1 }
        let images = try (0..<8).map(ServiceFixtures.patch)
        let first = Task { await scheduler.submit(images, detail: .score, deadlineMilliseconds: 60_000) }
        while scheduler.queueDepth < 8 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!scheduler.isReady)
        let refused = await scheduler.submit([images[0]], detail: .score, deadlineMilliseconds: 60_000)
        guard case .failure(.overloaded(let queued, let capacity, let retryAfter)) = refused else {
            Issue.record("expected overloaded, got \(refused)"); return
        }
        #expect(queued == 8 && capacity == 8 && retryAfter >= 1)
        let tooMany = await scheduler.submit(images + images, detail: .score, deadlineMilliseconds: 60_000)
        guard case .failure(.tooManyPatches(16, 8)) = tooMany else { Issue.record("got \(tooMany)"); return }
        _ = try await first.value.get()
        await scheduler.drain()
    }

    @Test func expiredPatchesAreDroppedBeforeCompute() async throws {
        let scheduler = ServiceFixtures.scheduler { $0.maxDelay = .seconds(1); $0.workers = 1 }
        let started = ContinuousClock.now
        let result = await scheduler.submit([try ServiceFixtures.patch(0)], detail: .score, deadlineMilliseconds: 50)
        guard case .failure(.deadlineExceeded(50)) = result else { Issue.record("got \(result)"); return }
        #expect(ContinuousClock.now - started < .milliseconds(900))   // answered at the deadline, not after the batch
        await scheduler.drain()
    }

    @Test func cancellingTheCallerDropsItsPatches() async throws {
        let scheduler = ServiceFixtures.scheduler { $0.maxDelay = .seconds(2); $0.workers = 1 }
        let image = try ServiceFixtures.patch(0)
        let task = Task { await scheduler.submit([image, image], detail: .score, deadlineMilliseconds: 60_000) }
        while scheduler.queueDepth < 2 { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        guard case .failure(.cancelled) = await task.value else { Issue.record("expected cancelled"); return }
        await scheduler.drain()
    }

    @Test func drainFinishesAcceptedWorkThenRefuses() async throws {
        let scheduler = ServiceFixtures.scheduler { $0.maxDelay = .milliseconds(200) }
        let images = try (0..<4).map(ServiceFixtures.patch)
        let pending = Task { await scheduler.submit(images, detail: .score, deadlineMilliseconds: 60_000) }
        while scheduler.queueDepth < 4 { try await Task.sleep(for: .milliseconds(2)) }
        await scheduler.drain()
        let outcome = try await pending.value.get()
        #expect(outcome.patches.count == 4)
        let late = await scheduler.submit([images[0]], detail: .score, deadlineMilliseconds: 60_000)
        guard case .failure(.shuttingDown) = late else { Issue.record("got \(late)"); return }
    }

    @Test func configurationRejectsOutOfRangeSettings() {
        var configuration = SchedulerConfiguration()
        configuration.maxBatch = 0
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        configuration = SchedulerConfiguration(workers: 0)
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
    }
}
