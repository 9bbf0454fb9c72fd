/// The squeeze step of channel attention (docs/model.md §8 step 1): per `(c, n)` plane, the sum (for the global
/// average) and the maximum, accumulated run by run so it can ride along a convolution's epilogue while each
/// tile of the output is still in cache.
///
/// Pooled statistics live in a `(2, C, N)` buffer: sums at `[c·N + n]`, maxima at `[C·N + c·N + n]`.
public enum ChannelPooling {
    /// Sets every sum to 0 and every maximum to −∞.
    public static func reset(_ pooled: UnsafeMutablePointer<Float>, planes: Int) {
        pooled.update(repeating: 0, count: planes)
        (pooled + planes).update(repeating: -.infinity, count: planes)
    }

    /// Adds `values[0..<count]` into `sum` and takes their maximum into `maximum`; 16 lanes wide, so the sum
    /// is a pairwise-ish reduction rather than one long sequential chain.
    @inline(__always)
    public static func accumulate(_ values: UnsafePointer<Float>, count: Int,
                                  sum: inout Float, maximum: inout Float) {
        var s0 = Vector8(), s1 = Vector8()
        var m0 = Vector8(repeating: -.infinity), m1 = m0
        var i = 0
        while i &+ 16 <= count {
            let a = (values + i).load8(), b = (values + (i &+ 8)).load8()
            s0 += a
            s1 += b
            m0 = m0.replacing(with: a, where: a .> m0)     // vmaxps; pointwiseMax is not inlined
            m1 = m1.replacing(with: b, where: b .> m1)
            i &+= 16
        }
        var total = (s0 + s1).sum()
        var largest = m0.replacing(with: m1, where: m1 .> m0).max()
        while i < count {
            total += values[i]
            largest = max(largest, values[i])
            i &+= 1
        }
        sum += total
        maximum = max(maximum, largest)
    }

    /// Pools a whole `(C, N, H, W)` feature map into `pooled` `(2, C, N)`.
    public static func pool(_ features: UnsafePointer<Float>, shape: FeatureShape, into pooled: UnsafeMutablePointer<Float>) {
        let planes = shape.channels &* shape.batch
        reset(pooled, planes: planes)
        for p in 0..<planes {
            accumulate(features + p &* shape.plane, count: shape.plane, sum: &pooled[p], maximum: &pooled[planes &+ p])
        }
    }
}
