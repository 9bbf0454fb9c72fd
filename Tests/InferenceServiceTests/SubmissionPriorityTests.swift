import Foundation
import ImageCodecs
@testable import InferenceService
import Scoring
import Testing

/// Interactive requests are taken before background work (a scan job's tiles), background work never takes
/// their queue room, and a submission's own scorer gives the scores that scorer gives on the worker.
@Suite(.serialized) struct SubmissionPriorityTests {
    @Test func queuesHandOutInteractivePatchesFirstThenInOrder() throws {
        let ticket = Ticket(count: 4, detail: .score, deadlineMilliseconds: nil, now: 0)
        let image = try ServiceFixtures.patch(0)
        func patches(_ indices: [Int]) -> [QueuedPatch] {
            indices.map { QueuedPatch(ticket: ticket, index: $0, input: .image(image)) }
        }
        var queues = PatchQueues()
        queues.append(patches([0, 1]), priority: .background)
        queues.append(patches([2]), priority: .interactive)
        queues.append(patches([3]), priority: .background)
        #expect(queues.count == 4 && queues.count(of: .background) == 3 && queues.count(of: .interactive) == 1)
        var order: [Int] = []
        while let patch = queues.takeFirst() { order.append(patch.index) }
        #expect(order == [2, 0, 1, 3])
        #expect(queues.isEmpty)
    }

    @Test func backgroundWorkStillAdvancesUnderASteadyStreamOfInteractivePatches() throws {
        let ticket = Ticket(count: 100, detail: .score, deadlineMilliseconds: nil, now: 0)
        let image = try ServiceFixtures.patch(0)
        func patches(_ indices: Range<Int>) -> [QueuedPatch] {
            indices.map { QueuedPatch(ticket: ticket, index: $0, input: .image(image)) }
        }
        var queues = PatchQueues()
        queues.append(patches(0..<3), priority: .background)           // a scan's tiles: 0, 1, 2
        queues.append(patches(10..<30), priority: .interactive)        // a crowd of patch requests: 10…29
        var order: [Int] = []
        while let patch = queues.takeFirst() { order.append(patch.index) }
        let run = PatchQueues.interactiveRun
        // run interactive, then one background, repeated while both wait; then the rest in order
        #expect(Array(order.prefix(run + 1)) == Array(10..<(10 + run)) + [0])
        #expect(order.count == 23 && Set(order) == Set(Array(0..<3) + Array(10..<30)))
        #expect(order[2 * run + 1] == 1 && order.last == 2)   // the third tile once the 20 patches are out
        // with nothing in the background, interactive patches never wait for a turn that is not taken
        var alone = PatchQueues()
        alone.append(patches(40..<60), priority: .interactive)
        alone.append(patches(0..<1), priority: .background)
        #expect(alone.takeFirst()?.index == 40)
    }

    @Test func interactivePatchQueuedBehindBackgroundWorkIsTakenFirst() async throws {
        // One worker, held while the queue fills, then slowed to one pass every 250 ms so the order shows.
        let engine = ServiceFixtures.engine(held: true) { $0.workers = 1; $0.passDelay = .milliseconds(250) }
        let tiles = try (0..<8).map(ServiceFixtures.patch)
        let scan = Task {
            await SubmissionOptions.$current.withValue(SubmissionOptions(priority: .background)) {
                await engine.submit(tiles, detail: .score)
            }
        }
        while engine.queueDepth(of: .background) < 8 { try await Task.sleep(for: .milliseconds(5)) }
        let patch = Task { await engine.submit([try ServiceFixtures.patch(9)], detail: .score, deadlineMilliseconds: 60_000) }
        while engine.queueDepth(of: .interactive) < 1 { try await Task.sleep(for: .milliseconds(5)) }
        engine.hold(false)
        let answer = try await patch.value.get()
        // FIFO would have run all 8 tiles first (0 left). The patch is taken first, so 8 are left when it is
        // answered; a loaded machine may resume this task a few passes later, hence only "some".
        let backgroundLeft = engine.queueDepth(of: .background)
        #expect(backgroundLeft >= 1, "background patches still queued when the interactive one was answered: \(backgroundLeft)")
        #expect(answer.patches.count == 1 && answer.patches[0].score != nil)
        let scanned = try await scan.value.get()
        #expect(scanned.patches.count == 8)
        await engine.drain()
    }

    @Test func backgroundWorkNeverTakesAnInteractiveRequestsRoom() async throws {
        let engine = ServiceFixtures.engine(held: true) { $0.workers = 1; $0.queueCapacity = 8 }
        let tiles = try (0..<8).map(ServiceFixtures.patch)
        let scan = Task {
            await SubmissionOptions.$current.withValue(SubmissionOptions(priority: .background)) {
                await engine.submit(tiles, detail: .score)
            }
        }
        while engine.queueDepth(of: .background) < 8 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(engine.isReady)
        #expect(engine.admissionRefusal(patches: 1) == nil)
        #expect(engine.admissionRefusal(patches: 1, priority: .background) != nil)
        let more = await SubmissionOptions.$current.withValue(SubmissionOptions(priority: .background)) {
            await engine.submit([tiles[0]], detail: .score)
        }
        guard case .failure(.overloaded(let queued, 8, _)) = more else { Issue.record("expected overloaded, got \(more)"); return }
        #expect(queued == 8)
        let patch = Task { await engine.submit([tiles[1]], detail: .score, deadlineMilliseconds: 60_000) }
        while engine.queueDepth(of: .interactive) < 1 { try await Task.sleep(for: .milliseconds(5)) }
        engine.hold(false)
        _ = try await patch.value.get()
        _ = try await scan.value.get()
        await engine.drain()
    }

    @Test func ownScorerGivesTheScoresThatScorerGivesOnTheWorker() async throws {
        let image = try ServiceFixtures.patch(3)
        let combined = try PatchScorer(card: ServiceFixtures.bundle.card!, method: .combined, threshold: .fpr(0.2))
        let engine = ServiceFixtures.engine()
        let rescored = try await SubmissionOptions.$current.withValue(SubmissionOptions(scorer: combined)) {
            await engine.submit([image], detail: .score)
        }.get()
        let plain = try await engine.submit([image], detail: .score).get()
        await engine.drain()
        let direct = InferenceEngine(model: ServiceFixtures.bundle.model, scorer: combined,
                                     configuration: EngineConfiguration(workers: 1, blasThreads: 1, queueCapacity: 8))
        direct.start()
        let reference = try await direct.submit([image], detail: .score).get()
        await direct.drain()
        #expect(rescored.patches[0].score == reference.patches[0].score)
        #expect(rescored.patches[0].score?.method == .combined)
        #expect(abs((rescored.patches[0].score?.fpr ?? 0) - 0.2) < 1e-12)
        #expect(plain.patches[0].score?.method == .signals)
    }

    @Test func aScorerOfAnotherCalibrationIsRefused() async throws {
        let engine = ServiceFixtures.engine()
        var calibration = ServiceFixtures.scorer.calibration
        calibration.patches += 1
        let other = try PatchScorer(model: ServiceFixtures.scorer.model, calibration: calibration)
        let result = await SubmissionOptions.$current.withValue(SubmissionOptions(scorer: other)) {
            await engine.submit([try! ServiceFixtures.patch(0)], detail: .score)
        }
        await engine.drain()
        guard case .failure(.scoring) = result else { Issue.record("expected a scoring refusal, got \(result)"); return }
    }
}
