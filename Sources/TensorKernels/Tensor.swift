/// A dense float32 tensor in row-major order with a PyTorch-style shape, e.g. a weight `(C_out, C_in, k, k)`
/// or a batch of patches `(N, 3, 150, 150)`. Used at the edges (weights, files, tests); the hot path works on
/// raw buffers in ``FeatureShape`` layout.
///
/// ```swift
/// let t = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
/// t.count // 6
/// ```
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "Tensor: \(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.values = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    public var count: Int { values.count }

    /// Largest absolute elementwise difference; shapes must match.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shape \(shape) vs \(other.shape)")
        var worst: Float = 0
        for i in values.indices { worst = max(worst, abs(values[i] - other.values[i])) }
        return worst
    }
}
