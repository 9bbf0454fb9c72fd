import COpenBLAS
import Foundation

/// The OpenBLAS calls the kernels use, behind names that say what they compute.
public enum BLAS {
    /// Sets OpenBLAS's own thread pool size. Called by us, explicitly, so the thread count is never left to
    /// OpenBLAS's environment-dependent default.
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// OpenBLAS's build configuration (kernel target, threading), for `histoae bench` output.
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// Row-major `C (M×N) = op(A) · B`, with leading dimensions given explicitly so callers can write into a
    /// column slice of a larger matrix (one chunk of a batch). `transposeA`: col2im's `Wᵀ · X`.
    @inlinable
    public static func sgemm(transposeA: Bool = false,
                             m: Int, n: Int, k: Int,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1.0,
                    a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }
}

extension BLAS {
    /// The kernel family OpenBLAS chose for this CPU (e.g. "SkylakeX", "Haswell", "Prescott").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS core families with AVX2/AVX-512 GEMM kernels.
    static let vectorCores: Set<String> = ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"]

    /// The `OPENBLAS_CORETYPE` this process should run with, or nil when OpenBLAS's own choice is right.
    ///
    /// Debian's OpenBLAS 0.3.21 picks its core from a table of CPU model numbers and falls back to the SSE3
    /// "Prescott" kernels on newer CPUs it does not list (e.g. Emerald Rapids, model 207): 4× slower here.
    /// OpenBLAS reads `OPENBLAS_CORETYPE` once, when it loads, so the fix is to set it before the process
    /// starts (the `histoae` executable re-executes itself once with it set).
    public static func suggestedCoreType(cpuFlags: Set<String>? = nil) -> String? {
        guard !vectorCores.contains(coreName) else { return nil }
        let flags = cpuFlags ?? Self.cpuFlags()
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// The CPU feature flags from /proc/cpuinfo (``CPUInfo``; empty where that file does not exist).
    public static func cpuFlags() -> Set<String> { CPUInfo.current.flags }
}
