import Foundation
import TensorKernels

/// What the command line needs to know about the machine's BLAS, without reaching into the kernels:
/// OpenBLAS's core choice, its build, and its practical GEMM peak (`histoae bench --sgemm`).
public enum MachineProbe {
    /// The `OPENBLAS_CORETYPE` this process should run with, or nil when OpenBLAS's own choice is right
    /// (Debian's OpenBLAS 0.3.21 falls back to SSE3 kernels on CPUs newer than its table).
    public static func suggestedOpenBLASCore() -> String? { BLAS.suggestedCoreType() }

    /// The CPU's model name and the instruction sets among those the kernels can use (from /proc/cpuinfo;
    /// "unknown" and none where that file does not exist).
    public static var cpu: (model: String, instructionSets: [String]) {
        let info = CPUInfo.current
        let known = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile",
                     "amx_bf16", "amx_int8"]
        return (info.model, known.filter(info.flags.contains))
    }

    /// OpenBLAS's build configuration (kernel target, threading).
    public static var openBLASConfiguration: String { BLAS.configuration }

    /// `C = A·B` on `size`² matrices with OpenBLAS on `threads` threads for about `seconds`: GFLOP/s
    /// (2·size³ flops a call), the calls made and the seconds they took.
    public static func sgemm(size: Int, threads: Int, seconds: Double) -> (gflops: Double, calls: Int, seconds: Double) {
        BLAS.setThreads(threads)
        var generator = SplitMix64(seed: 2)
        let a = (0..<(size * size)).map { _ in generator.nextUniform() }
        let b = (0..<(size * size)).map { _ in generator.nextUniform() }
        let c = UnsafeMutablePointer<Float>.allocate(capacity: size * size)
        c.initialize(repeating: 0, count: size * size)
        defer { c.deallocate() }
        var calls = 0
        let clock = ContinuousClock()
        var elapsed = Duration.zero
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                let call = {
                    BLAS.sgemm(m: size, n: size, k: size, a: a.baseAddress!, lda: size, b: b.baseAddress!, ldb: size,
                               c: c, ldc: size)
                }
                call()
                let start = clock.now
                repeat {
                    call()
                    calls += 1
                    elapsed = clock.now - start
                } while elapsed < .milliseconds(Int64(seconds * 1000))
            }
        }
        let wall = elapsed.seconds
        return (2 * Double(size) * Double(size) * Double(size) * Double(calls) / wall / 1e9, calls, wall)
    }
}

extension Duration {
    /// The duration in seconds, as a `Double` (every wall-clock figure the engine's callers print).
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
