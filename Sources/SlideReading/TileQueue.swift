import Foundation
import ImageCodecs
import TensorKernels

/// The state and threads behind a ``TileReader``: the claimed-but-unconsumed window, the tiles read out of
/// order, the failure, and the consumer's continuation. Its threads hold it, not the ``TileReader``, so a
/// reader dropped without ``TileReader/cancel()`` still cancels them from its `deinit`.
final class TileQueue: @unchecked Sendable {
    let slide: Slide
    let grid: TileGrid
    let threadCount: Int
    let capacity: Int

    /// Guards everything below.
    private let condition = NSCondition()
    private var ready: [Int: ReadTile] = [:]
    private var nextToClaim = 0
    private var nextToDeliver = 0
    private var failure: (index: Int, error: SlideError)?
    private var cancelled = false
    private var started = false
    private var running = 0
    /// The consumer suspended in ``next()``, resumed when its tile, a failure or the end arrives.
    private var waiter: CheckedContinuation<Void, Never>?

    init(slide: Slide, grid: TileGrid, threads: Int, capacity: Int) {
        self.slide = slide
        self.grid = grid
        threadCount = max(1, threads)
        self.capacity = max(1, capacity)
    }

    /// Starts the reading threads (once).
    func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        running = threadCount
        for index in 0..<threadCount {
            let name = "hae-slide-\(index)"
            let thread = Thread { [self] in
                ThreadName.set(name)
                work()
            }
            thread.name = name
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Stops claiming tiles; the consumer gets nil from its next call.
    func cancel() {
        condition.lock()
        cancelled = true
        let consumer = takeWaiter()
        condition.broadcast()
        condition.unlock()
        consumer?.resume()
    }

    /// Tiles claimed by the threads and not yet taken by the consumer (read, or being read).
    var claimedAhead: Int {
        condition.lock(); defer { condition.unlock() }
        return nextToClaim - nextToDeliver
    }

    var isCancelled: Bool {
        condition.lock(); defer { condition.unlock() }
        return cancelled
    }

    /// The next tile in reading order, waiting for it if needed; nil after the last tile or a cancellation.
    /// - Throws: the ``SlideError`` of a failed read, once the tiles before it are delivered.
    func next() async throws(SlideError) -> ReadTile? {
        while true {
            if let outcome = take() { return try outcome.get() }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    condition.lock()
                    if hasOutcome() {
                        condition.unlock()
                        continuation.resume()
                    } else {
                        waiter = continuation
                        condition.unlock()
                    }
                }
            } onCancel: {
                cancel()
            }
        }
    }

    /// One tile (waiting for it), then whichever following tiles are already read, up to `maxCount`: a batch
    /// for the engine. Empty after the last tile or a cancellation.
    func nextBatch(maxCount: Int) async throws(SlideError) -> [ReadTile] {
        guard let first = try await next() else { return [] }
        var batch = [first]
        while batch.count < maxCount, let outcome = take(onlyReady: true), let tile = try outcome.get() {
            batch.append(tile)
        }
        return batch
    }

    /// ``next()`` for a thread of the caller's own (a command line's main thread): blocks it. Never call it on
    /// Swift's cooperative pool or an event loop.
    func nextBlocking() throws(SlideError) -> ReadTile? {
        condition.lock()
        while !hasOutcome() { condition.wait() }
        condition.unlock()
        return try take()!.get()
    }

    /// The consumer's outcome if one is due: the next tile, the failure, or nil for the end. With `onlyReady`,
    /// only a read tile counts.
    private func take(onlyReady: Bool = false) -> Result<ReadTile?, SlideError>? {
        condition.lock()
        defer { condition.unlock() }
        if let tile = ready.removeValue(forKey: nextToDeliver) {
            nextToDeliver += 1
            condition.broadcast()   // a claim slot is free
            return .success(tile)
        }
        if onlyReady { return nil }
        if let failure, failure.index <= nextToDeliver { return .failure(failure.error) }
        if cancelled || nextToDeliver >= grid.tiles.count { return .success(nil) }
        return nil
    }

    /// Whether ``take(onlyReady:)`` would answer; under the lock.
    private func hasOutcome() -> Bool {
        ready[nextToDeliver] != nil || (failure.map { $0.index <= nextToDeliver } ?? false) || cancelled
            || nextToDeliver >= grid.tiles.count
    }

    /// Under the lock.
    private func takeWaiter() -> CheckedContinuation<Void, Never>? {
        defer { waiter = nil }
        return waiter
    }

    /// A reading thread: claim the next tile while fewer than `capacity` are waiting, read it, hand it over.
    private func work() {
        let tiles = grid.tiles, level = grid.scan.level
        while true {
            condition.lock()
            while !cancelled && failure == nil && nextToClaim < tiles.count && nextToClaim - nextToDeliver >= capacity {
                condition.wait()
            }
            guard !cancelled, failure == nil, nextToClaim < tiles.count else {
                running -= 1
                condition.unlock()
                return
            }
            let index = nextToClaim
            nextToClaim += 1
            condition.unlock()

            let outcome: Result<ReadTile, SlideError>
            do {
                var image = try slide.read(region: grid.region(of: tiles[index]), level: level)
                if grid.scan.needsResize {
                    image = RGBResampling.resize(image, width: grid.patchSize, height: grid.patchSize)
                }
                outcome = .success(ReadTile(tile: tiles[index], image: image))
            } catch {
                outcome = .failure(error)
            }

            condition.lock()
            switch outcome {
            case .success(let tile): ready[index] = tile
            case .failure(let error):
                if failure.map({ index < $0.index }) ?? true { failure = (index, error) }
            }
            let consumer = hasOutcome() ? takeWaiter() : nil
            condition.broadcast()
            condition.unlock()
            consumer?.resume()
        }
    }
}
