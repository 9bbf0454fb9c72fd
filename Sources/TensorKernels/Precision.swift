import CGEMMKernel

/// The arithmetic a model's GEMMs run in: `fp32` (the default, PyTorch's numbers to ~1e-5) or `bf16` (weights and
/// activations rounded to bfloat16 — 8 significant bits, ≤ 2⁻⁸ relative error — as they enter each GEMM, products
/// summed in float32: GEMMs about twice as fast where the CPU has AVX512-BF16; how far the default model's outputs,
/// scores and verdicts move is measured in docs/precision.md). Raw values are the command line's spellings
/// (`--precision fp32|bf16`, `HISTOAE_PRECISION`).
///
/// A request resolves to what this CPU can run (``resolved(on:)``): bf16 falls back to fp32, with a reason to log
/// once, where the bf16 kernel cannot run.
///
/// ```swift
/// let resolution = Precision.bf16.resolved()
/// if let reason = resolution.fallbackReason { log(reason) }
/// let bundle = try ModelBundle.load(url, precision: resolution.precision)
/// ```
public enum Precision: String, Sendable, CaseIterable, CustomStringConvertible {
    case fp32, bf16

    public var description: String { rawValue }

    /// What runs the GEMMs at this precision (resolved on this process), for `histoae bench` and logs.
    public var gemmDescription: String {
        switch self {
        case .fp32: PackedWeights.kernelDescription
        case .bf16: "bf16 AVX512-BF16 kernel (CGEMMKernel), float32 sums"
        }
    }

    /// This precision as this CPU and process can run it: bf16 needs the packed kernel path (AVX-512F, not
    /// `HISTOAE_GEMM=openblas`) and AVX512-BF16. (AMX is not used yet.)
    ///
    /// - Parameter capabilities: the GEMM paths assumed to exist; tests pass others to check the fallback.
    public func resolved(on capabilities: GEMMCapabilities = .current) -> PrecisionResolution {
        guard self == .bf16 else { return PrecisionResolution(requested: self, precision: self, fallbackReason: nil) }
        let reason: String? = if !capabilities.packedKernel && capabilities.bf16Instructions {
            "bf16 requested but HISTOAE_GEMM=openblas keeps every GEMM on OpenBLAS (float32 only): running fp32"
        } else if !capabilities.packedKernel || !capabilities.bf16Instructions {
            "bf16 requested but this CPU has no AVX512-BF16: running fp32"
        } else {
            nil
        }
        return PrecisionResolution(requested: self, precision: reason == nil ? .bf16 : .fp32, fallbackReason: reason)
    }
}

/// A requested ``Precision`` and what runs: ``precision`` differs from ``requested`` only on a fallback, which
/// ``fallbackReason`` explains in one line.
public struct PrecisionResolution: Sendable, Equatable {
    public let requested: Precision
    public let precision: Precision
    public let fallbackReason: String?
}

/// The GEMM paths this process has, as ``Precision/resolved(on:)`` sees them.
public struct GEMMCapabilities: Sendable {
    /// The packed fp32 kernel is in use (AVX-512F, and `HISTOAE_GEMM` is not `openblas`).
    public var packedKernel: Bool
    /// The CPU has AVX-512F, AVX-512BW and AVX512-BF16 (`hae_gemm_bf16_available`).
    public var bf16Instructions: Bool

    public init(packedKernel: Bool, bf16Instructions: Bool) {
        self.packedKernel = packedKernel
        self.bf16Instructions = bf16Instructions
    }

    /// This process's, checked once.
    public static let current = GEMMCapabilities(packedKernel: PackedWeights.kernelAvailable,
                                                 bf16Instructions: hae_gemm_bf16_available() == 1)

    /// Whether the bf16 kernel runs here.
    public var bf16: Bool { packedKernel && bf16Instructions }
}
