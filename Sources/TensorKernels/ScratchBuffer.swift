/// A reusable float buffer for im2col/col2im matrices: grown on demand, never shrunk, so steady-state
/// inference allocates nothing. One per worker thread (not shared).
public struct ScratchBuffer: ~Copyable {
    private var storage: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int
    /// Largest matrix (in floats) one tile may unfold into: small enough to stay in L2 while the GEMM packs
    /// it, large enough that each GEMM call has work for every core.
    public let chunkLimit: Int

    /// - Parameter chunkLimit: default 384 Ki floats (1.5 MiB).
    public init(chunkLimit: Int = 384 << 10) {
        self.capacity = 0
        self.storage = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        self.chunkLimit = chunkLimit
    }

    deinit { storage.deallocate() }

    /// How many images to unfold at once so a chunk stays under ``chunkLimit`` (at least one).
    public func imagesPerChunk(floatsPerImage: Int, batch: Int) -> Int {
        max(1, min(batch, chunkLimit / max(1, floatsPerImage)))
    }

    /// How many output rows to unfold at once so a tile stays under ``chunkLimit`` (at least one).
    /// Never fewer than ``minimumColumns`` GEMM columns, though: narrow GEMMs run far below peak.
    public func rowsPerTile(floatsPerRow: Int, rowWidth: Int, totalRows: Int) -> Int {
        let byCache = chunkLimit / max(1, floatsPerRow)
        let byWidth = (minimumColumns + rowWidth - 1) / max(1, rowWidth)
        return max(1, min(totalRows, max(byCache, byWidth)))
    }

    /// See ``rowsPerTile(floatsPerRow:rowWidth:totalRows:)``.
    public var minimumColumns = 1024

    /// Threads the kernels may split their non-GEMM loops across (see ``Parallel``): 1 when each worker runs
    /// its own forward pass, the core count when one pass runs alone.
    public var threads = 1

    /// A buffer of at least `count` floats; contents undefined.
    public mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            storage.deallocate()
            storage = UnsafeMutablePointer<Float>.allocate(capacity: count)
            capacity = count
        }
        return storage
    }
}
