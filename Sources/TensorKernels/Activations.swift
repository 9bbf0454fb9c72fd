import CGEMMKernel
import Foundation

/// The per-channel epilogue that follows a convolution's GEMM: add the (BatchNorm-folded) bias, then apply the
/// block's activation, in one pass over the output.
public enum Activation: Sendable, Equatable {
    case identity
    /// Exact GELU, `x · ½(1 + erf(x/√2))` (docs/model.md §7), not the tanh approximation.
    case gelu
    case tanh
}

public enum Epilogue {
    /// For each channel `c` of a `(C, N·H·W)` buffer: `x ← act(x + bias[c])`, in place.
    ///
    /// - Parameters:
    ///   - values: `(channels, channelStride)` — one contiguous run per channel (see ``FeatureShape``).
    ///   - bias: `(channels)`.
    ///
    /// ```swift
    /// Epilogue.apply(.gelu, values: output, bias: bias, channels: 32, channelStride: shape.batch * shape.plane)
    /// ```
    public static func apply(_ activation: Activation, values: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                             channels: Int, channelStride: Int) {
        for c in 0..<channels {
            let run = values + c &* channelStride
            hae_epilogue_apply(activation.epilogueCode, run, run, channelStride, bias[c])
        }
    }

    /// `to[i] = act(from[i] + bias)` for one run of `count` values of one channel (a fused epilogue); `from` may
    /// equal `to`.
    ///
    /// Runs in CGEMMKernel (`hae_epilogue_apply`): AVX-512 where the CPU has it (these Swift kernels are compiled
    /// for AVX2), with results bit-identical to ``GELU/exact(_:)`` and ``Tanh/value(_:)``.
    public static func apply(_ activation: Activation, from: UnsafePointer<Float>, to: UnsafeMutablePointer<Float>,
                             count: Int, bias: Float) {
        hae_epilogue_apply(activation.epilogueCode, from, to, count, bias)
    }
}

extension Activation {
    /// `HAE_ACTIVATION_*` of hae_epilogue.h.
    var epilogueCode: Int32 {
        switch self {
        case .identity: Int32(HAE_ACTIVATION_IDENTITY)
        case .gelu: Int32(HAE_ACTIVATION_GELU)
        case .tanh: Int32(HAE_ACTIVATION_TANH)
        }
    }
}

/// Exact (erf-based) GELU, vectorizable: no libm call per element.
public enum GELU {
    /// `x · ½(1 + erf(x/√2))`.
    @inlinable @inline(__always)
    public static func exact(_ x: Float) -> Float {
        0.5 * x * (1 + erf(x * 0.707_106_781_186_547_524_4))
    }

    /// erf for float32 as a rational function `x·P(x²)/Q(x²)` on [−4, 4] (erf is ±1 in float32 beyond),
    /// the approximation Eigen and XLA use; max abs error a few 1e-7 against libm's `erff`, well inside
    /// the engine's 1e-4 parity bar, and — unlike `erff` — it vectorizes.
    @inlinable @inline(__always)
    public static func erf(_ value: Float) -> Float {
        let x = min(max(value, -4), 4)
        let x2 = x * x
        // Each Horner step one fused multiply-add (c + p·x², rounded once), as hae_epilogue.c computes it.
        var p: Float = -2.72614225801306e-10
        p = Float(2.77068142495902e-08).addingProduct(p, x2)
        p = Float(-2.10102402082508e-06).addingProduct(p, x2)
        p = Float(-5.69250639462346e-05).addingProduct(p, x2)
        p = Float(-7.34990630326855e-04).addingProduct(p, x2)
        p = Float(-2.95459980854025e-03).addingProduct(p, x2)
        p = Float(-1.60960333262415e-02).addingProduct(p, x2)
        var q: Float = -1.45660718464996e-05
        q = Float(-2.13374055278905e-04).addingProduct(q, x2)
        q = Float(-1.68282697438203e-03).addingProduct(q, x2)
        q = Float(-7.37332916720468e-03).addingProduct(q, x2)
        q = Float(-1.42647390514189e-02).addingProduct(q, x2)
        return x * p / q
    }
}

/// tanh for float32 as a rational function `x·P(x²)/Q(x²)` on [−7.9, 7.9] (tanh is ±1 in float32 beyond),
/// Eigen's `generic_fast_tanh_float`: a few ulp from libm's `tanhf`, and — unlike it — vectorizable.
public enum Tanh {
    @inlinable @inline(__always)
    public static func value(_ input: Float) -> Float {
        let x = min(max(input, -7.905_311_107_635_498), 7.905_311_107_635_498)
        let x2 = x * x
        // Fused Horner steps, as in erf above.
        var p: Float = -2.760_768_477_423_55e-16
        p = Float(2.000_187_904_824_77e-13).addingProduct(p, x2)
        p = Float(-8.604_671_522_137_35e-11).addingProduct(p, x2)
        p = Float(5.122_297_090_371_14e-08).addingProduct(p, x2)
        p = Float(1.485_722_357_179_79e-05).addingProduct(p, x2)
        p = Float(6.372_619_288_754_36e-04).addingProduct(p, x2)
        p = Float(4.893_524_558_917_86e-03).addingProduct(p, x2)
        var q: Float = 1.198_258_394_667_02e-06
        q = Float(1.185_347_056_866_54e-04).addingProduct(q, x2)
        q = Float(2.268_434_632_439_00e-03).addingProduct(q, x2)
        q = Float(4.893_525_185_543_85e-03).addingProduct(q, x2)
        // Below 4e-4, tanh(x) = x to float precision; the rational form would lose the last bits there.
        return abs(x) < 0.0004 ? x : x * p / q
    }
}
