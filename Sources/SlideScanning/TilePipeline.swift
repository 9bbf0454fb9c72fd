import Foundation
import ImageCodecs
import InferenceService
import SlideReading

/// The scan's inner loop: tiles read on the ``TileReader``'s threads, handed to the one engine in requests of
/// ``ScanSettings/batch`` tiles, ``ScanSettings/requestsInFlight`` requests queued at once so the engine's
/// workers never wait for the reader or for the writing of results, and each result handed to `consume` in the
/// grid's reading order.
///
/// Memory is flat whatever the slide's size: at most ``ScanSettings/readerCapacity`` tiles read ahead, plus
/// `requestsInFlight × batch` tiles in the engine, plus as many finished results waiting for their turn.
///
/// Cancelling the calling task stops the reader, drops the queued requests (the engine skips their patches)
/// and throws ``SlideScanError/cancelled(slide:)``.
///
/// ```swift
/// try await TilePipeline.run(plan: plan, engine: engine, settings: settings,
///                            consume: { tile in table.write(tile) }, progress: { print($0.done, $0.total) })
/// ```
enum TilePipeline {
    /// One request's answer: its position in submission order, its tiles, and the engine's result.
    private typealias Answer = (order: Int, tiles: [Tile], result: Result<BatchOutcome, ServiceError>)

    static func run(plan: SlideScanPlan, engine: InferenceEngine, settings: ScanSettings,
                    consume: (ScannedTile) throws(SlideScanError) -> Void,
                    progress: @Sendable (ScanProgress) -> Void) async throws(SlideScanError) {
        let grid = plan.grid, path = plan.slide.path, side = grid.level0TileSide
        let start = ContinuousClock.now
        let reader = TileReader(slide: plan.slide, grid: grid, threads: settings.readerThreads,
                                capacity: settings.readerCapacity)
        reader.start()
        defer { reader.cancel() }
        progress(ScanProgress(done: 0, total: grid.tiles.count, elapsedSeconds: 0))

        var done = 0
        let failure: SlideScanError? = await withTaskGroup(of: Answer.self) { group in
            var submitted = 0, written = 0, running = 0
            var exhausted = false
            /// Answers that arrived before an earlier request's: at most `requestsInFlight`.
            var waiting: [Int: Answer] = [:]
            while true {
                while !exhausted && running < settings.requestsInFlight {
                    let batch: [ReadTile]
                    do { batch = try await reader.nextBatch(maxCount: settings.batch) } catch let error as SlideError {
                        group.cancelAll()
                        return .slide(error)
                    } catch {
                        group.cancelAll()
                        return .slide(.invalidRequest("\(error)"))
                    }
                    guard !batch.isEmpty else { exhausted = true; break }
                    let order = submitted, tiles = batch.map(\.tile), images = batch.map(\.image)
                    submitted += 1
                    running += 1
                    group.addTask { (order, tiles, await submit(images, to: engine)) }
                }
                guard let answer = await group.next() else { return nil }
                running -= 1
                waiting[answer.order] = answer
                while let next = waiting.removeValue(forKey: written) {
                    written += 1
                    let outcome: BatchOutcome
                    switch next.result {
                    case .success(let value): outcome = value
                    case .failure(let error):
                        group.cancelAll()
                        return error == .cancelled ? .cancelled(slide: path) : .engine(slide: path, error)
                    }
                    for (tile, patch) in zip(next.tiles, outcome.patches) {
                        guard let score = patch.score else {
                            group.cancelAll()
                            return .engine(slide: path, .scoring("tile \(tile.index) was not scored"))
                        }
                        do { try consume(ScannedTile(tile: tile, side: side, score: score)) } catch let error as SlideScanError {
                            group.cancelAll()
                            return error
                        } catch {
                            group.cancelAll()
                            return .output(path: path, reason: "\(error)")
                        }
                    }
                    done += next.tiles.count
                    progress(ScanProgress(done: done, total: grid.tiles.count,
                                          elapsedSeconds: (ContinuousClock.now - start).seconds))
                }
            }
        }
        if let failure { throw failure }
        // The reader ends early only when cancelled: a scan that stopped short was cancelled.
        if Task.isCancelled || done < grid.tiles.count { throw .cancelled(slide: path) }
    }

    /// Submits one request; a full queue (another caller's load on a shared engine) is retried after the delay
    /// the engine suggests, at most a second at a time, until the calling task is cancelled.
    private static func submit(_ images: [RGBImage], to engine: InferenceEngine) async
        -> Result<BatchOutcome, ServiceError> {
        while true {
            let result = await engine.submit(images, detail: .score)
            guard case .failure(.overloaded(_, _, let retryAfter)) = result, !Task.isCancelled else { return result }
            try? await Task.sleep(for: .milliseconds(min(1000, max(50, retryAfter * 1000))))
        }
    }
}
