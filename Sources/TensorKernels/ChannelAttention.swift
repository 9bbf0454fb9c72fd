import Foundation

/// Channel attention, exactly as docs/model.md §8: average- and max-pooled descriptors each go through one shared,
/// bias-free MLP `C → C/r → C` (1×1 convolutions with ReLU between), each through a sigmoid, then
/// `s = σ(σ(MLP(z_avg)) + σ(MLP(z_max)))` scales every channel of the feature map in place.
///
/// ```swift
/// let attn = ChannelAttention(reduce: w1, expand: w2, channels: 64)
/// attn.apply(to: features, shape: shape)        // features: (64, N, H, W)
/// ```
public struct ChannelAttention: Sendable {
    public let channels: Int, hidden: Int
    /// `mlp.0.weight` `(C/r, C)` — the squeeze 1×1 convolution.
    public let reduce: [Float]
    /// `mlp.2.weight` `(C, C/r)` — the excite 1×1 convolution.
    public let expand: [Float]

    public init(reduce: [Float], expand: [Float], channels: Int) {
        precondition(reduce.count % channels == 0 && expand.count == reduce.count)
        self.channels = channels
        self.hidden = reduce.count / channels
        self.reduce = reduce
        self.expand = expand
    }

    /// Scales `features` `(C, N, H, W)` in place. Allocates only `O(C·N)` per call, never per pixel.
    public func apply(to features: UnsafeMutablePointer<Float>, shape: FeatureShape) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * shape.channels * shape.batch) { pooled in
            ChannelPooling.pool(features, shape: shape, into: pooled.baseAddress!)
            apply(to: features, shape: shape, pooled: pooled.baseAddress!)
        }
    }

    /// Scales `features` `(C, N, H, W)` in place, given its ``ChannelPooling`` statistics `pooled` `(2, C, N)`
    /// (e.g. gathered by the convolution epilogue that produced `features`).
    public func apply(to features: UnsafeMutablePointer<Float>, shape: FeatureShape, pooled: UnsafePointer<Float>) {
        precondition(shape.channels == channels)
        let plane = shape.plane, planes = channels * shape.batch
        var average = [Float](repeating: 0, count: channels)   // (C) of one image
        var maximum = [Float](repeating: 0, count: channels)   // (C)
        var hiddenActivations = [Float](repeating: 0, count: hidden)   // (C/r)
        var gateAverage = [Float](repeating: 0, count: channels)   // (C)
        var gateMaximum = [Float](repeating: 0, count: channels)   // (C)
        for n in 0..<shape.batch {
            for c in 0..<channels {
                average[c] = pooled[c * shape.batch + n] / Float(plane)
                maximum[c] = pooled[planes + c * shape.batch + n]
            }
            mlp(average, into: &gateAverage, hidden: &hiddenActivations)
            mlp(maximum, into: &gateMaximum, hidden: &hiddenActivations)
            for c in 0..<channels {
                let gate = sigmoid(sigmoid(gateAverage[c]) + sigmoid(gateMaximum[c]))
                let values = features + (c * shape.batch + n) * plane
                for i in 0..<plane { values[i] *= gate }
            }
        }
    }

    /// `expand · ReLU(reduce · z)`, before the sigmoid.
    private func mlp(_ descriptor: [Float], into result: inout [Float], hidden activations: inout [Float]) {
        for h in 0..<hidden {
            var sum: Float = 0
            for c in 0..<channels { sum += reduce[h * channels + c] * descriptor[c] }
            activations[h] = max(0, sum)
        }
        for c in 0..<channels {
            var sum: Float = 0
            for h in 0..<hidden { sum += expand[c * hidden + h] * activations[h] }
            result[c] = sum
        }
    }

    @inline(__always) private func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }
}
