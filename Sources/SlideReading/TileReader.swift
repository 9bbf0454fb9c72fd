import ImageCodecs

/// A tile of a ``TileGrid`` read and resized to the patch size.
public struct ReadTile: Sendable {
    public let tile: Tile
    /// `patchSize` × `patchSize` RGB at the model's µm/px.
    public let image: RGBImage
}

/// Reads a grid's tiles ahead of the consumer on threads of its own — not Swift's cooperative pool, not the
/// engine's inference workers — so the engine's compute never waits on OpenSlide's decoding. At most
/// `capacity` tiles are claimed and not yet consumed, so memory stays flat (capacity × one patch) however large
/// the slide. Tiles come out in the grid's reading order, whichever thread read them.
///
/// One consumer at a time. ``cancel()`` (or cancelling the task awaiting ``next()``) stops the threads after
/// the reads in progress; the consumer then gets nil. A failed read stops the reading too: the tiles before it
/// are delivered, then ``next()`` throws the ``SlideError`` (OpenSlide's handle stays in its error state).
///
/// ```swift
/// let reader = TileReader(slide: slide, grid: grid, threads: 2, capacity: 64)
/// reader.start()
/// while case let batch = try await reader.nextBatch(maxCount: 16), !batch.isEmpty {
///     _ = await engine.submit(batch.map(\.image), detail: .score)
/// }
/// ```
public final class TileReader: Sendable {
    let queue: TileQueue

    public var slide: Slide { queue.slide }
    public var grid: TileGrid { queue.grid }

    /// - Parameters:
    ///   - threads: reading threads (OpenSlide decodes on them; 2 keep ahead of a 2-core engine).
    ///   - capacity: most tiles claimed and not yet consumed (memory: capacity × one patch).
    public init(slide: Slide, grid: TileGrid, threads: Int = 2, capacity: Int = 64) {
        queue = TileQueue(slide: slide, grid: grid, threads: threads, capacity: capacity)
    }

    deinit {
        queue.cancel()
    }

    /// Starts the reading threads (once).
    public func start() { queue.start() }

    /// Stops claiming tiles; the consumer gets nil from its next call.
    public func cancel() { queue.cancel() }

    public var isCancelled: Bool { queue.isCancelled }

    /// The next tile in reading order, waiting for it if needed; nil after the last tile or a cancellation
    /// (cancelling the awaiting task cancels the reader).
    /// - Throws: the ``SlideError`` of a failed read, once the tiles before it are delivered.
    public func next() async throws(SlideError) -> ReadTile? { try await queue.next() }

    /// One tile (waiting for it), then whichever following tiles are already read, up to `maxCount`: a batch
    /// for the engine. Empty after the last tile or a cancellation.
    public func nextBatch(maxCount: Int) async throws(SlideError) -> [ReadTile] {
        try await queue.nextBatch(maxCount: maxCount)
    }

    /// ``next()`` for a thread of the caller's own (a command line's main thread): blocks it. Never call it on
    /// Swift's cooperative pool or an event loop.
    public func nextBlocking() throws(SlideError) -> ReadTile? { try queue.nextBlocking() }
}
