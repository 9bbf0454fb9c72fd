/// The shape of a batch of feature maps as the engine stores them: channel-major `(C, N, H, W)`.
///
/// PyTorch stores activations as `(N, C, H, W)`. The engine keeps the channel outermost instead, so that
/// - one GEMM over a whole batch writes `(C_out, N·H·W)` directly, with no transpose afterwards;
/// - a per-channel epilogue (bias, GELU) runs over one contiguous run of `N·H·W` values;
/// - concatenation along channels (the decoder's skips, docs/model.md §11) is just writing into the next block of memory.
///
/// ```swift
/// let shape = FeatureShape(channels: 64, batch: 8, height: 75, width: 75)
/// let plane = shape.plane        // 75·75 values of one (c, n)
/// let count = shape.count        // 64·8·75·75
/// ```
public struct FeatureShape: Sendable, Equatable, CustomStringConvertible {
    public var channels: Int
    public var batch: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, batch: Int, height: Int, width: Int) {
        self.channels = channels
        self.batch = batch
        self.height = height
        self.width = width
    }

    /// Values in one `(c, n)` plane: `H·W`.
    @inlinable public var plane: Int { height * width }
    /// Values of one channel across the batch: `N·H·W`, contiguous.
    @inlinable public var channelStride: Int { batch * height * width }
    /// All values: `C·N·H·W`.
    @inlinable public var count: Int { channels * batch * height * width }

    public var description: String { "(C \(channels), N \(batch), H \(height), W \(width))" }
}

/// Layout conversions between PyTorch's `(N, C, H, W)` and the engine's `(C, N, H, W)`.
public enum Layout {
    /// `source` is `(N, C, H, W)`; `destination` receives `(C, N, H, W)`.
    public static func nchwToCNHW(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>,
                                  shape: FeatureShape) {
        let plane = shape.plane
        for n in 0..<shape.batch {
            for c in 0..<shape.channels {
                (destination + (c &* shape.batch &+ n) &* plane)
                    .update(from: source + (n &* shape.channels &+ c) &* plane, count: plane)
            }
        }
    }

    /// `source` is `(C, N, H, W)`; `destination` receives `(N, C, H, W)`.
    public static func cnhwToNCHW(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>,
                                  shape: FeatureShape) {
        let plane = shape.plane
        for n in 0..<shape.batch {
            for c in 0..<shape.channels {
                (destination + (n &* shape.channels &+ c) &* plane)
                    .update(from: source + (c &* shape.batch &+ n) &* plane, count: plane)
            }
        }
    }
}
