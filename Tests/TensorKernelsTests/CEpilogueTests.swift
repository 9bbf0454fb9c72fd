import CGEMMKernel
import Foundation
import Testing
import TensorKernels

/// CGEMMKernel's `hae_epilogue_apply` (the path this CPU runs: AVX-512, AVX2 or plain C) against the Swift scalar
/// formulas it replaced: every path evaluates the same operations in the same order, unfused, so results must be
/// bit-identical — including ±0, denormals, the clamps' edges, huge values, ±∞ and NaN.
@Suite("hae_epilogue_apply equals the Swift formulas")
struct CEpilogueTests {
    static let activations: [(Activation, Int32)] = [
        (.identity, Int32(HAE_ACTIVATION_IDENTITY)), (.gelu, Int32(HAE_ACTIVATION_GELU)), (.tanh, Int32(HAE_ACTIVATION_TANH)),
    ]

    /// The Swift definition of one value of the epilogue.
    static func swiftValue(_ activation: Activation, _ x: Float, bias: Float) -> Float {
        switch activation {
        case .identity: x + bias
        case .gelu: GELU.exact(x + bias)
        case .tanh: Tanh.value(x + bias)
        }
    }

    /// Equal bit patterns, or both NaN (a NaN's payload is not part of the contract).
    static func same(_ a: Float, _ b: Float) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }

    /// A sweep of [−12, 12], random magnitudes over 2⁻¹⁴⁰ … 2⁴⁰ of both signs, and the special values.
    static let inputs: [Float] = {
        var values: [Float] = [0.0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude / 3, -.leastNormalMagnitude / 3,
                               .leastNormalMagnitude, -.leastNormalMagnitude, 1e-30, -1e-30, 0.0004, -0.0004,
                               Float(0.0004).nextDown, -Float(0.0004).nextDown, 4, -4, 5.656854, -5.656854, 7.905311, -7.905311,
                               1e10, -1e10, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .nan]
        values += (-12_000...12_000).map { Float($0) / 1000 }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let magnitude = Float.pow2(Int(rng.next() % 180) - 140) * (1 + rng.nextUniform())
            values.append(rng.next() & 1 == 0 ? magnitude : -magnitude)
        }
        return values
    }()

    @Test("bit-identical to GELU.exact, Tanh.value and x + b over many values and biases",
          arguments: [Float(0), 0.75, -2.5])
    func matchesSwift(bias: Float) {
        for (activation, code) in Self.activations {
            var got = [Float](repeating: .nan, count: Self.inputs.count)
            Self.inputs.withUnsafeBufferPointer { x in
                got.withUnsafeMutableBufferPointer { hae_epilogue_apply(code, x.baseAddress!, $0.baseAddress!, x.count, bias) }
            }
            var mismatches = 0
            for (i, x) in Self.inputs.enumerated() where !Self.same(got[i], Self.swiftValue(activation, x, bias: bias)) {
                if mismatches < 3 {
                    Issue.record("\(activation)(\(x) + \(bias)): C \(got[i]), Swift \(Self.swiftValue(activation, x, bias: bias))")
                }
                mismatches += 1
            }
            #expect(mismatches == 0, "\(activation): \(mismatches) of \(Self.inputs.count) differ")
        }
    }

    /// Tails of every length, from a misaligned start, out of place and in place: exactly `count` values written,
    /// none read or written past them (the sentinels around the run stay as they were).
    @Test("every length 0…40, out of place and in place, touches exactly count values")
    func tails() {
        let sentinel = Float(12345)
        for (activation, code) in Self.activations {
            for count in 0...40 {
                let source = (0..<count).map { Float($0) * 0.37 - 6 }
                let want = source.map { Self.swiftValue(activation, $0, bias: 0.5) }
                // Out of place: to = buffer[1 ..< 1 + count] (misaligned), a sentinel either side.
                var buffer = [Float](repeating: sentinel, count: count + 18)
                source.withUnsafeBufferPointer { s in
                    buffer.withUnsafeMutableBufferPointer { hae_epilogue_apply(code, s.baseAddress, $0.baseAddress! + 1, count, 0.5) }
                }
                #expect(buffer[0] == sentinel && buffer[(1 + count)...].allSatisfy { $0 == sentinel }, "\(activation) \(count): wrote outside")
                #expect(zip(buffer[1..<(1 + count)], want).allSatisfy(Self.same), "\(activation) \(count) out of place")
                // In place.
                var inPlace = [sentinel] + source + [Float](repeating: sentinel, count: 17)
                inPlace.withUnsafeMutableBufferPointer { hae_epilogue_apply(code, $0.baseAddress! + 1, $0.baseAddress! + 1, count, 0.5) }
                #expect(inPlace[0] == sentinel && inPlace[(1 + count)...].allSatisfy { $0 == sentinel }, "\(activation) \(count): wrote outside")
                #expect(zip(inPlace[1..<(1 + count)], want).allSatisfy(Self.same), "\(activation) \(count) in place")
            }
        }
    }

    @Test("a negative count writes nothing")
    func negativeCount() {
        var values: [Float] = [1, 2, 3]
        values.withUnsafeMutableBufferPointer { hae_epilogue_apply(Int32(HAE_ACTIVATION_GELU), $0.baseAddress!, $0.baseAddress!, -3, 1) }
        #expect(values == [1, 2, 3])
    }

    @Test("Epilogue.apply adds each channel's bias before its activation, through the C kernel")
    func perChannelRuns() {
        let channels = 3, stride = 37
        var rng = SplitMix64(seed: 11)
        let source = (0..<(channels * stride)).map { _ in rng.nextUniform() * 16 - 8 }
        let bias: [Float] = [0.25, -1.5, 3]
        for (activation, _) in Self.activations {
            var values = source
            values.withUnsafeMutableBufferPointer {
                Epilogue.apply(activation, values: $0.baseAddress!, bias: bias, channels: channels, channelStride: stride)
            }
            let want = source.enumerated().map { Self.swiftValue(activation, $1, bias: bias[$0 / stride]) }
            #expect(zip(values, want).allSatisfy(Self.same), "\(activation)")
        }
    }
}

private extension Float {
    /// 2^e for e in the float range, denormals included.
    static func pow2(_ e: Int) -> Float { Float(sign: .plus, exponent: e, significand: 1) }
}
