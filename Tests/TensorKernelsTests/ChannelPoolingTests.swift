import Testing
import TensorKernels

/// Channel attention's pooled descriptors (docs/model.md §8 step 1), gathered in a convolution's epilogue tile by tile.
@Suite("Channel pooling")
struct ChannelPoolingTests {
    @Test("pool equals a Double sum and max per (c, n) plane")
    func poolMatchesDefinition() {
        var rng = SplitMix64(seed: 5)
        let shape = FeatureShape(channels: 3, batch: 2, height: 7, width: 5)   // 35 per plane: vector body + tail
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 4 - 3 }
        var pooled = [Float](repeating: .nan, count: 2 * 6)
        x.withUnsafeBufferPointer { xs in
            pooled.withUnsafeMutableBufferPointer { ChannelPooling.pool(xs.baseAddress!, shape: shape, into: $0.baseAddress!) }
        }
        for p in 0..<6 {
            let plane = x[(p * 35)..<((p + 1) * 35)]
            #expect(abs(Double(pooled[p]) - plane.reduce(0.0) { $0 + Double($1) }) <= 1e-5)
            #expect(pooled[6 + p] == plane.max()!)
        }
    }

    /// Stride-2 encoder convolution (docs/model.md §10) with tiles of one output row, so tiles split images.
    @Test("Conv2d epilogue pooling equals pooling its output", arguments: [1, 16 << 20], [1, 2])
    func epiloguePooling(chunkLimit: Int, threads: Int) {
        var rng = SplitMix64(seed: 9)
        let shape = FeatureShape(channels: 4, batch: 3, height: 11, width: 9)
        let x = (0..<shape.count).map { _ in rng.nextUniform() * 2 - 1 }
        let w = (0..<(6 * 4 * 9)).map { _ in (rng.nextUniform() * 2 - 1) * 0.3 }
        let b = (0..<6).map { _ in rng.nextUniform() - 0.5 }
        let conv = Conv2d(weight: w, bias: b, inChannels: 4, outChannels: 6, kernel: 3, stride: 2, padding: 1,
                          activation: .gelu)
        let out = conv.outputShape(for: shape)
        var y = [Float](repeating: .nan, count: out.count)
        var fused = [Float](repeating: .nan, count: 2 * 6 * 3), separate = fused
        var scratch = ScratchBuffer(chunkLimit: chunkLimit)
        scratch.minimumColumns = 1
        scratch.threads = threads
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                fused.withUnsafeMutableBufferPointer {
                    conv.forward(input: xs.baseAddress!, shape: shape, output: ys.baseAddress!, scratch: &scratch,
                                 pooled: $0.baseAddress!)
                }
                separate.withUnsafeMutableBufferPointer { ChannelPooling.pool(ys.baseAddress!, shape: out, into: $0.baseAddress!) }
            }
        }
        for i in fused.indices { #expect(abs(fused[i] - separate[i]) <= 1e-5, "entry \(i)") }
    }
}
