import Foundation
import Testing
@testable import TensorKernels

/// /proc/cpuinfo parsed once for the kernels and for naming the machine.
@Suite struct CPUInfoTests {
    @Test func theFirstProcessorsModelAndFlags() {
        let text = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            model name\t: AMD EPYC 9R14 96-Core Processor
            flags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16
            processor\t: 1
            model name\t: another
            flags\t\t: fpu
            """
        let cpu = CPUInfo.parse(text)
        #expect(cpu.model == "AMD EPYC 9R14 96-Core Processor")
        #expect(cpu.flags == ["fpu", "sse2", "avx2", "fma", "avx512f", "avx512_bf16"])
    }

    @Test func missingFieldsAreUnknownAndEmpty() {
        #expect(CPUInfo.parse("") == CPUInfo(model: "unknown", flags: []))
        #expect(CPUInfo.parse("model name: x\n").flags.isEmpty)
        #expect(CPUInfo.parse("flags : a b\n").model == "unknown")
    }

    @Test func thisMachineAgreesWithTheKernelsFlags() {
        #expect(BLAS.cpuFlags() == CPUInfo.current.flags)
        if FileManager.default.fileExists(atPath: "/proc/cpuinfo") { #expect(!CPUInfo.current.flags.isEmpty) }
    }
}
