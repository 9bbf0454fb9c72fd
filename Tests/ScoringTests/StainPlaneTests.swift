import Foundation
import ImageCodecs
import Testing
@testable import Scoring
import TensorKernels

/// Optical density, the Jacobi eigen-solver, the stain-plane fit and the stain residual.
@Suite("Stain plane")
struct StainPlaneTests {
    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    static func cross(_ a: [Double], _ b: [Double]) -> [Double] {
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    }

    @Test("optical density: −log10((u + 1)/256), white 0, black log10(256)")
    func opticalDensity() {
        #expect(OpticalDensity.table.count == 256 && OpticalDensity.table[255] == 0)
        #expect(abs(OpticalDensity.table[0] - log10(256.0)) < 1e-15)
        #expect(OpticalDensity.table[127] == -log10(128.0 / 256))
        #expect(zip(OpticalDensity.table, OpticalDensity.table.dropFirst()).allSatisfy { $0 > $1 })
        #expect(!OpticalDensity.isStained(r: 255, g: 250, b: 245) && OpticalDensity.isStained(r: 200, g: 150, b: 200))
    }

    @Test("Jacobi: eigenpairs of known and random symmetric matrices, A·v = λ·v, ascending, orthonormal")
    func jacobi() {
        let known = SymmetricEigen3([[2, 1, 0], [1, 2, 0], [0, 0, 5]])
        #expect(zip(known.values, [1.0, 3, 5]).allSatisfy { abs($0 - $1) < 1e-14 })
        #expect(abs(abs(known.vectors[0][0]) - 0.5.squareRoot()) < 1e-14 && known.vectors[0][0] * known.vectors[0][1] < 0)
        let diagonal = SymmetricEigen3([[3, 0, 0], [0, 1, 0], [0, 0, 2]])
        #expect(diagonal.values == [1, 2, 3] && diagonal.vectors[0] == [0, 1, 0] && diagonal.sweeps == 0)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            var a = [[Double]](repeating: [0, 0, 0], count: 3)
            for i in 0..<3 { for j in i..<3 { a[i][j] = Double.random(in: -5...5, using: &rng); a[j][i] = a[i][j] } }
            let e = SymmetricEigen3(a)
            #expect(e.values == e.values.sorted() && e.sweeps <= 10)
            for k in 0..<3 {
                let v = e.vectors[k]
                let av = (0..<3).map { Self.dot(a[$0], v) }
                #expect(zip(av, v).allSatisfy { abs($0 - e.values[k] * $1) < 1e-12 })
                #expect(abs(Self.dot(v, v) - 1) < 1e-14 && abs(Self.dot(v, e.vectors[(k + 1) % 3])) < 1e-13)
            }
        }
    }

    @Test("the fit recovers a known normal from an exact scatter matrix, largest component positive")
    func fitExact() throws {
        let h = SyntheticCalibration.normalized([0.65, 0.70, 0.29]), e = SyntheticCalibration.normalized([0.07, 0.99, 0.11])
        let n = SyntheticCalibration.normalized(Self.cross(e, h))
        var m = [[Double]](repeating: [0, 0, 0], count: 3)
        var rng = SplitMix64(seed: 3)
        for _ in 0..<2000 {
            let a = Double.random(in: 0.05...1.5, using: &rng), b = Double.random(in: 0.05...1.5, using: &rng)
            let od = (0..<3).map { a * h[$0] + b * e[$0] }
            for i in 0..<3 { for j in 0..<3 { m[i][j] += od[i] * od[j] } }
        }
        let plane = try StainPlane.fit(scatter: m, pixels: 2000)
        // n = e × h has its largest component (B) negative: the fit flips it.
        #expect(n[2] < 0 && abs(n[2]) == n.map(abs).max())
        #expect(zip(plane.normal, n).allSatisfy { abs($0 + $1) < 1e-12 }, "\(plane.normal) vs \(n)")
        #expect(plane.pixels == 2000 && plane.minOD == 0.15)
        try plane.validate()
        #expect(throws: ScoringError.self) { try StainPlane.fit(scatter: m, pixels: 999) }
        #expect(throws: ScoringError.self) { try StainPlane.fit(scatter: [[.nan, 0, 0], [0, 1, 0], [0, 0, 1]], pixels: 5000) }
    }

    /// An 8-bit patch whose every pixel is `a·h + b·e` in optical density (rounded to 8 bit), `a, b` random.
    static func twoStainPatch(_ h: [Double], _ e: [Double], seed: UInt64, side: Int = 150) -> RGBImage {
        var rng = SplitMix64(seed: seed)
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        for i in 0 ..< side * side {
            let a = Double.random(in: 0...1.2, using: &rng), b = Double.random(in: 0...1.0, using: &rng)
            for c in 0..<3 {
                let u = 256 * pow(10, -(a * h[c] + b * e[c])) - 1
                pixels[3 * i + c] = UInt8(max(0, min(255, u.rounded())))
            }
        }
        return RGBImage(width: side, height: side, pixels: pixels)
    }

    @Test("StainScatter on 8-bit H&E-like patches recovers the plane of the two stain vectors; residuals stay near 0")
    func fitFromImages() throws {
        let h = SyntheticCalibration.normalized([0.65, 0.70, 0.29]), e = SyntheticCalibration.normalized([0.07, 0.99, 0.11])
        let n = SyntheticCalibration.normalized(Self.cross(h, e))
        var scatter = StainScatter()
        for seed in 1...3 { scatter.add(Self.twoStainPatch(h, e, seed: UInt64(seed))) }
        let plane = try scatter.plane()
        #expect(scatter.patches == 3 && plane.pixels == scatter.pixels && plane.pixels > 60_000)
        #expect(abs(Self.dot(plane.normal, n)) > 0.9999, "\(plane.normal) vs \(n)")     // 8-bit rounding only
        let workspace = ScoringWorkspace()
        let p99 = StainResidual.compute(image: Self.twoStainPatch(h, e, seed: 9), normal: plane.normalVector, workspace: workspace)
        #expect(p99 < 0.01)
        // Glass has no stained pixel: no plane.
        var glass = StainScatter()
        glass.add(RGBImage(width: 150, height: 150, pixels: [UInt8](repeating: 250, count: 150 * 150 * 3)))
        #expect(glass.pixels == 0)
        #expect { try glass.plane() } throws: { "\($0)".contains("at least 1000") }
    }

    /// `max(n · od, 0) / max(|od|, 0.3)` with `n` oriented so its blue component is ≥ 0, written out.
    static func expectedResidual(_ od: [Double], _ normal: SIMD3<Double>) -> Double {
        let n = normal.z < 0 ? -normal : normal
        let magnitude = (od[0] * od[0] + od[1] * od[1] + od[2] * od[2]).squareRoot()
        return max(od[0] * n.x + od[1] * n.y + od[2] * n.z, 0) / max(magnitude, 0.3)
    }

    @Test("the residual is the share of a pixel's density off the plane towards blue; stain_p99 of a uniform patch is its residual")
    func residual() throws {
        let image = try ScoringFixtures.image("patch0.png")
        let workspace = ScoringWorkspace()
        for n in [SIMD3<Double>(0.3, -0.8, 0.52), SIMD3<Double>(-0.3, 0.8, -0.52)] {  // either sign: one residual
            _ = StainResidual.compute(image: image, normal: n, workspace: workspace)
            for i in [0, 777, 150 * 150 - 1] {
                let od = (0..<3).map { OpticalDensity.table[Int(image.pixels[3 * i + $0])] }
                #expect(workspace.stain[i] == Self.expectedResidual(od, n))
            }
            #expect(workspace.stain.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        let n = SIMD3<Double>(0.3, -0.8, 0.52)
        // a yellow-brown dye absorbs blue: off the plane on the normal's side
        let uniform = RGBImage(width: 150, height: 150, pixels: (0 ..< 150 * 150).flatMap { _ in [230, 200, 60] as [UInt8] })
        let p99 = StainResidual.compute(image: uniform, normal: n, workspace: workspace)
        let od = [230, 200, 60].map { OpticalDensity.table[$0] }
        #expect(p99 > 0.1 && abs(p99 - Self.expectedResidual(od, n)) < 1e-14)
        // the other side of the plane (magenta here, n · od < 0) is not a foreign stain: residual 0
        let magenta = RGBImage(width: 150, height: 150, pixels: (0 ..< 150 * 150).flatMap { _ in [200, 40, 90] as [UInt8] })
        #expect(StainResidual.compute(image: magenta, normal: n, workspace: workspace) == 0)
        let white = RGBImage(width: 150, height: 150, pixels: [UInt8](repeating: 255, count: 150 * 150 * 3))
        #expect(StainResidual.compute(image: white, normal: n, workspace: workspace) == 0)
    }
}
