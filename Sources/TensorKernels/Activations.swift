import Foundation

/// The per-channel epilogue that follows a convolution's GEMM: add the (BatchNorm-folded) bias, then apply the
/// block's activation, in one pass over the output.
public enum Activation: Sendable, Equatable {
    case identity
    /// Exact GELU, `x · ½(1 + erf(x/√2))` (spec §2.4), not the tanh approximation.
    case gelu
    case tanh
}

public enum Epilogue {
    /// For each channel `c` of a `(C, N·H·W)` buffer: `x ← act(x + bias[c])`.
    ///
    /// - Parameters:
    ///   - values: `(channels, channelStride)` — one contiguous run per channel (see ``FeatureShape``).
    ///   - bias: `(channels)`.
    @inlinable
    public static func apply(_ activation: Activation, values: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                             channels: Int, channelStride: Int) {
        for c in 0..<channels {
            let run = values + c &* channelStride
            let b = bias[c]
            switch activation {
            case .identity:
                for i in 0..<channelStride { run[i] += b }
            case .gelu:
                for i in 0..<channelStride { run[i] = GELU.exact(run[i] + b) }
            case .tanh:
                for i in 0..<channelStride { run[i] = Foundation.tanh(run[i] + b) }
            }
        }
    }
}

extension Epilogue {
    /// `to[i] = act(from[i] + bias)` for one run of `count` values of one channel (a fused epilogue).
    @inlinable
    public static func apply(_ activation: Activation, from: UnsafePointer<Float>, to: UnsafeMutablePointer<Float>,
                             count: Int, bias: Float) {
        switch activation {
        case .identity:
            for i in 0..<count { to[i] = from[i] + bias }
        case .gelu:
            for i in 0..<count { to[i] = GELU.exact(from[i] + bias) }
        case .tanh:
            for i in 0..<count { to[i] = Foundation.tanh(from[i] + bias) }
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
        var p: Float = -2.72614225801306e-10
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 - 2.10102402082508e-06
        p = p * x2 - 5.69250639462346e-05
        p = p * x2 - 7.34990630326855e-04
        p = p * x2 - 2.95459980854025e-03
        p = p * x2 - 1.60960333262415e-02
        var q: Float = -1.45660718464996e-05
        q = q * x2 - 2.13374055278905e-04
        q = q * x2 - 1.68282697438203e-03
        q = q * x2 - 7.37332916720468e-03
        q = q * x2 - 1.42647390514189e-02
        return x * p / q
    }
}
