import CGEMMKernel
import Foundation

/// The arithmetic a model's GEMMs run in: `fp32` (the default, PyTorch's numbers to ~1e-5) or `bf16` (weights and
/// activations rounded to bfloat16 — 8 significant bits, ≤ 2⁻⁸ relative error — as they enter each GEMM, products
/// summed in float32: GEMMs about twice as fast where the CPU has AVX512-BF16; how far the default model's outputs,
/// scores and verdicts move is measured in docs/precision.md). Raw values are the command line's spellings
/// (`--precision fp32|bf16`, `HISTOAE_PRECISION`).
///
/// A request resolves to what this CPU should run (``resolved(on:)``): bf16 falls back to fp32, with a reason to log
/// once, where the bf16 kernel cannot run or would be slower than fp32.
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
        case .bf16: BF16Kernel.current.description
        }
    }

    /// Whether bf16 runs on AMX tiles here, or the first check that ruled them out (`hae_gemm_amx_state`), for
    /// `histoae machine`.
    public static var amxStatus: String {
        switch hae_gemm_amx_state() {
        case Int32(HAE_AMX_USABLE):
            BF16Kernel.current == .amx ? "usable; bf16 runs on the tiles"
                : "usable, but HISTOAE_GEMM=\(GEMMCapabilities.bf16KernelSetting) runs bf16 on AVX512-BF16"
        case Int32(HAE_AMX_NOT_ENABLED): "the CPU has tiles but the OS does not enable their state (XCR0)"
        case Int32(HAE_AMX_REFUSED): "the CPU has tiles but Linux refused this process their state (arch_prctl)"
        case Int32(HAE_AMX_NO_AVX512_BF16): "the CPU has tiles but no AVX512-BF16, which the kernel rounds B with"
        case Int32(HAE_AMX_SELF_CHECK_FAILED):
            "the CPU has tiles but their product of the start-up check left the emulation's bounds: not used"
        default: "none (the CPU lists no AMX-TILE and AMX-BF16)"
        }
    }

    /// This precision as this process should run it: bf16 needs the packed kernel path (AVX-512F, not
    /// `HISTOAE_GEMM=openblas`), AVX512-BF16, and a CPU where that pays (``GEMMCapabilities/bf16Pays``: AMD's, not
    /// Intel's without usable AMX tiles, unless `HISTOAE_GEMM=avx512-bf16` asks for the kernel anyway). The command
    /// line and the server resolve what they are asked for here; a model loaded at bf16 directly runs the bf16
    /// kernel wherever it can (``runnable(on:)``), which is how the tests reach it on every CPU that has it.
    ///
    /// - Parameter capabilities: the GEMM paths assumed to exist; tests pass others to check the fallback.
    public func resolved(on capabilities: GEMMCapabilities = .current) -> PrecisionResolution {
        guard self == .bf16 else { return PrecisionResolution(requested: self, precision: self, fallbackReason: nil) }
        let reason: String? = if !capabilities.packedKernel && capabilities.bf16Instructions {
            "bf16 requested but HISTOAE_GEMM=openblas keeps every GEMM on OpenBLAS (float32 only): running fp32"
        } else if !capabilities.packedKernel || !capabilities.bf16Instructions {
            "bf16 requested but this CPU has no AVX512-BF16: running fp32"
        } else if !capabilities.bf16Pays {
            "bf16 requested but AVX512-BF16 is no faster than fp32 on this CPU (one VDPBF16PS port against two "
                + "FMA ports) and it offers no AMX tiles: running fp32 (HISTOAE_GEMM=\(GEMMCapabilities.bf16KernelSetting) "
                + "runs the bf16 kernel anyway)"
        } else {
            nil
        }
        return PrecisionResolution(requested: self, precision: reason == nil ? .bf16 : .fp32, fallbackReason: reason)
    }

    /// This precision where its kernel can run at all: bf16 wherever ``GEMMCapabilities/bf16`` holds, whether or
    /// not it pays (a model loaded at a precision runs it; the choice of what pays is ``resolved(on:)``'s).
    public func runnable(on capabilities: GEMMCapabilities = .current) -> Precision {
        self == .bf16 && !capabilities.bf16 ? .fp32 : self
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
    /// The bf16 kernel outruns fp32 here (`hae_gemm_bf16_pays`: an AMD CPU; or AMX tiles are usable,
    /// `hae_gemm_amx_available`), or `HISTOAE_GEMM=avx512-bf16` asks for the AVX512-BF16 kernel regardless (A/B
    /// benchmarks, drift measurements on any CPU with the instructions).
    public var bf16Pays: Bool

    /// The `HISTOAE_GEMM` value that runs bf16 requests on the AVX512-BF16 kernel where it does not pay.
    public static let bf16KernelSetting = "avx512-bf16"

    public init(packedKernel: Bool, bf16Instructions: Bool, bf16Pays: Bool = true) {
        self.packedKernel = packedKernel
        self.bf16Instructions = bf16Instructions
        self.bf16Pays = bf16Pays
    }

    /// This process's, checked once.
    public static let current = GEMMCapabilities(
        packedKernel: PackedWeights.kernelAvailable, bf16Instructions: hae_gemm_bf16_available() == 1,
        bf16Pays: hae_gemm_bf16_pays() == 1 || BF16Kernel.current == .amx
            || ProcessInfo.processInfo.environment["HISTOAE_GEMM"] == bf16KernelSetting)

    /// Whether the bf16 kernel can run here (paying or not).
    public var bf16: Bool { packedKernel && bf16Instructions }
}
