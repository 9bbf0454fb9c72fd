import CGEMMKernel
import Foundation
import Testing
@testable import TensorKernels

/// The AMX bf16 kernel (`hae_gemm_amx.h`, ``BF16Kernel/amx``): its loops, weight layout, edges and splits through
/// the tile instructions emulated in C (every CPU), and the instructions themselves where the CPU offers the tiles.
@Suite("bf16 GEMM on AMX tiles")
struct AMXKernelTests {
    typealias Case = BF16PackedWeightsTests.Case

    static let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    static let noAMX = "this CPU (or its hypervisor) offers no AMX-BF16 tiles, or Linux refused this process the tile "
        + "state, or HISTOAE_GEMM=avx512-bf16: the emulated tests above cover the kernel's loops and layout"

    /// C = A · B through ``BF16Panels`` packed for `kernel`, from a B as it lies (`packedB: false`) or from B's
    /// bf16 panels with `extraPairs` more pairs per panel than K needs (a taller packed matrix's rows, as the
    /// Winograd transforms leave them); columns past N start at −7.
    static func product(_ test: Case, kernel: BF16Kernel, parts: Int, packedB: Bool = false,
                        extraPairs: Int = 3) -> [Float] {
        let panels = BF16Panels(rowMajor: test.a, rows: test.m, matrices: test.matrices, kernel: kernel)
        var c = [Float](repeating: -7, count: test.m * test.ldc)
        let (m, n, k) = (test.m, test.n, test.k)
        if !packedB {
            test.b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    panels.multiply(matrixAt: m * k, rows: m, columns: k, n: n, b: b.baseAddress!, ldb: test.ldb,
                                    c: c.baseAddress!, ldc: test.ldc, parts: parts)
                }
            }
            return c
        }
        // (⌈n/32⌉, panelPairs, 32, 2): pair j, column t of tile p = (bf16 B[2j][32p + t], bf16 B[2j + 1][32p + t]).
        let pairs = (k + 1) / 2, panelPairs = pairs + extraPairs, tiles = (n + 31) / 32
        var panel = [UInt16](repeating: 0, count: tiles * panelPairs * 64)
        for p in 0..<tiles { for j in 0..<pairs { for t in 0..<32 where 32 * p + t < n {
            for q in 0..<2 where 2 * j + q < k {
                let value = BF16PackedWeightsTests.bf16(test.b[(2 * j + q) * test.ldb + 32 * p + t])
                panel[((p * panelPairs + j) * 32 + t) * 2 + q] = UInt16(value.bitPattern >> 16)
            }
        }}}
        panel.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                panels.multiplyPrepacked(matrixAt: m * k, rows: m, columns: k, n: n, packedB: b.baseAddress!,
                                         panelPairs: panelPairs, c: c.baseAddress!, ldc: test.ldc, parts: parts)
            }
        }
        return c
    }

    /// The bounds of BF16PackedWeightsTests.matchesRoundedProduct: against Double sums of the bf16 inputs only float32
    /// summation error (`1.1·K·2⁻²⁴·Σ|ab|`); against fp32, bf16's rounding on top.
    static func expectNearProduct(_ c: [Float], _ test: Case, _ label: String) {
        let (rounded, magnitude) = test.reference(rounding: BF16PackedWeightsTests.bf16)
        let (exact, _) = test.reference(rounding: { $0 })
        let summation = 1.1 * Double(test.k) * 0x1p-24, rounding = 0x1p-7 + 0x1p-16 + 2 * summation
        var worstRounded = 0.0, worstFP32 = 0.0
        for i in 0..<test.m { for j in 0..<test.n {
            let got = Double(c[i * test.ldc + j]), scale = max(magnitude[i * test.n + j], .leastNormalMagnitude)
            worstRounded = max(worstRounded, abs(got - rounded[i * test.n + j]) / scale)
            worstFP32 = max(worstFP32, abs(got - exact[i * test.n + j]) / scale)
        }}
        #expect(worstRounded <= summation, "\(label): vs bf16 inputs |Δ|/Σ|ab| \(worstRounded)")
        #expect(worstFP32 <= rounding, "\(label): vs fp32 |Δ|/Σ|ab| \(worstFP32)")
        let padding = (0..<test.m).flatMap { i in (test.n..<test.ldc).map { c[i * test.ldc + $0] } }
        #expect(padding.allSatisfy { $0 == -7 }, "\(label): columns past N untouched")
    }

    /// BF16PackedWeightsTests' shapes (K odd and even, across 32-depth blocks and the 512-depth packing blocks; rows
    /// not a multiple of 32; N around the 32-column tiles) plus K past two packing blocks with a ragged last block.
    static let shapes = BF16PackedWeightsTests.shapes + [(48, 70, 1100), (8, 40, 32), (136, 9, 96)]

    @Test("emulated: exactly bf16 inputs summed in float32, from B as it lies and from packed panels, any split",
          arguments: shapes)
    func emulatedMatchesRoundedProduct(m: Int, n: Int, k: Int) {
        let test = Case(m: m, n: n, k: k)
        let whole = Self.product(test, kernel: .amxEmulated, parts: 1)
        Self.expectNearProduct(whole, test, "\(m)×\(n)×\(k)")
        for parts in [2, 3] {
            #expect(Self.product(test, kernel: .amxEmulated, parts: parts) == whole, "\(parts) parts: the same bits")
        }
        // Prepacked B: the same sums in the same order (the stack panels' 512-depth blocks carry C in float32).
        for parts in [1, 2] {
            #expect(Self.product(test, kernel: .amxEmulated, parts: parts, packedB: true) == whole,
                    "prepacked, \(parts) parts: the same bits")
        }
        #expect(Self.product(test, kernel: .amxEmulated, parts: 1, packedB: true, extraPairs: 0) == whole,
                "panels exactly ⌈K/2⌉ pairs tall")
    }

    @Test("emulated: a column's result does not depend on the columns sharing its call")
    func emulatedColumnsAlone() {
        let test = Case(m: 64, n: 77, k: 300)
        let whole = Self.product(test, kernel: .amxEmulated, parts: 1)
        let columns = 30..<43
        let alone = Case(m: 64, n: columns.count, k: 300, a: test.a,
                         b: (0..<300).flatMap { p in columns.map { test.b[p * test.ldb + $0] } + [0, 0, 0, 0, 0] })
        let c = Self.product(alone, kernel: .amxEmulated, parts: 1)
        for i in 0..<64 {
            #expect(Array(c[(i * alone.ldc)..<(i * alone.ldc + columns.count)]) == columns.map { whole[i * test.ldc + $0] })
        }
    }

    /// On the tiles, hae_gemm_amx_multiply rounds B with AVX512-BF16's hae_gemm_bf16_pack_b_panel; the emulation
    /// rounds it in C. The two must lay out and round alike for the emulated tests to speak for the hardware.
    @Test("the B panels the tiles read on hardware: (⌈kc/2⌉, 32, 2) bf16, zero past nr and an odd kc",
          .enabled(if: hae_gemm_bf16_available() == 1, "this CPU has no AVX512-BF16, which packs B for the tiles"),
          arguments: [(1, 1), (7, 17), (32, 32), (33, 5), (512, 31)])
    func bPanelLayout(kc: Int, nr: Int) {
        let ldb = 40
        let b = (0..<(kc * ldb)).map { Float(sin(Double($0) * 0.37)) * 3 }   // most values round
        let pairs = (kc + 1) / 2
        let panel = UnsafeMutableRawPointer.allocate(byteCount: pairs * 128, alignment: 64)
            .bindMemory(to: UInt16.self, capacity: pairs * 64)
        defer { panel.deallocate() }
        panel.initialize(repeating: 0xFFFF, count: pairs * 64)
        b.withUnsafeBufferPointer { hae_gemm_bf16_pack_b_panel(kc, nr, $0.baseAddress!, ldb, panel) }
        for j in 0..<pairs { for t in 0..<32 { for q in 0..<2 {
            let depth = 2 * j + q
            let expected = t < nr && depth < kc
                ? UInt16(BF16PackedWeightsTests.bf16(b[depth * ldb + t]).bitPattern >> 16) : 0
            #expect(panel[(j * 32 + t) * 2 + q] == expected, "pair \(j), column \(t), depth \(depth)")
        }}}
    }

    @Test("the packed layout: (⌈K/32⌉, rows, 32) bf16, zero past K, then 32 rows of zeros")
    func packedLayout() {
        let (m, k) = (8, 40)
        let a = (0..<(m * k)).map { Float($0 % 97) - 48 }                // exact in bf16
        #expect(hae_gemm_amx_packed_count(m, k) == (2 * m + 32) * 32)
        #expect(hae_gemm_amx_packed_count(-1, k) == -1 && hae_gemm_amx_packed_count(1 << 40, 1 << 40) == -1)
        var packed = [UInt16](repeating: 0xFFFF, count: hae_gemm_amx_packed_count(m, k))
        hae_gemm_amx_pack(m, k, a, k, &packed)
        for block in 0..<2 { for r in 0..<m { for q in 0..<32 {
            let depth = 32 * block + q
            let expected = depth < k ? UInt16(a[r * k + depth].bitPattern >> 16) : 0
            #expect(packed[(block * m + r) * 32 + q] == expected, "block \(block), row \(r), depth \(depth)")
        }}}
        #expect(packed[(2 * m * 32)...].allSatisfy { $0 == 0 }, "padding rows")
    }

    @Test("the AMX kernel is chosen exactly where /proc/cpuinfo lists amx_bf16 and amx_tile (and not overridden)")
    func chosenWhereTheCPUHasIt() {
        let listed = Self.cpuinfo.contains(" amx_bf16") && Self.cpuinfo.contains(" amx_tile")
            && Self.cpuinfo.contains(" avx512_bf16")
        if !listed { #expect(hae_gemm_amx_available() == 0) }
        if listed {
            // Linux 5.16 and later grant the tile state; a failed start-up self-check is a kernel bug, not a skip.
            #expect(hae_gemm_amx_state() == Int32(HAE_AMX_USABLE), "state \(hae_gemm_amx_state()): \(Precision.amxStatus)")
        }
        if !Self.cpuinfo.contains(" amx_tile") { #expect(hae_gemm_amx_state() == Int32(HAE_AMX_NO_TILES)) }
        let overridden = ProcessInfo.processInfo.environment["HISTOAE_GEMM"] == GEMMCapabilities.bf16KernelSetting
        #expect((BF16Kernel.current == .amx) == (listed && !overridden))
        if BF16Kernel.current == .amx { #expect(GEMMCapabilities.current.bf16Pays) }
    }

    @Test("hardware: within float32 summation of the emulation and of the bf16 inputs' exact product",
          .enabled(if: BF16Kernel.current == .amx, Comment(rawValue: noAMX)), arguments: shapes)
    func hardwareMatchesEmulation(m: Int, n: Int, k: Int) {
        let test = Case(m: m, n: n, k: k)
        let emulated = Self.product(test, kernel: .amxEmulated, parts: 1)
        for (parts, packedB) in [(1, false), (2, false), (3, true)] {
            let c = Self.product(test, kernel: .amx, parts: parts, packedB: packedB)
            Self.expectNearProduct(c, test, "\(m)×\(n)×\(k), \(parts) parts, packed B \(packedB)")
            let (_, magnitude) = test.reference(rounding: BF16PackedWeightsTests.bf16)
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    let difference = Double(abs(c[i * test.ldc + j] - emulated[i * test.ldc + j]))
                    worst = max(worst, difference / max(magnitude[i * n + j], Double.leastNormalMagnitude))
                }
            }
            #expect(worst <= 2.2 * Double(k) * 0x1p-24, "vs emulation: |Δ|/Σ|ab| \(worst)")
        }
    }
}
