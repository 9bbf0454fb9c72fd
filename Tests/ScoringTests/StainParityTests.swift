import Foundation
import ImageCodecs
import Testing
@testable import Scoring

/// The stain statistic against stats.py (stain.json, stain.safetensors): optical densities, scatter matrices,
/// eigenvalues, fitted normals, residual maps and `stain_p99`.
@Suite("Stain parity")
struct StainParityTests {
    static var fixture: [String: Any] { try! ScoringFixtures.json("stain.json") }

    static func relative(_ a: Double, _ b: Double, scale: Double? = nil) -> Double {
        abs(a - b) / max(scale ?? max(abs(a), abs(b)), 1e-300)
    }

    @Test("the optical-density table and the constants equal stats.py's")
    func table() {
        let reference = Self.fixture["od_table"] as! [Double]
        #expect(reference.count == 256)
        #expect(zip(OpticalDensity.table, reference).allSatisfy { Self.relative($0, $1) <= 1e-15 || $0 == $1 })
        #expect(Self.fixture["min_od"] as? Double == OpticalDensity.stainMinimum)
        #expect(Self.fixture["min_pixels"] as? Int == StainPlane.minimumPixels)
    }

    @Test("scatter matrices, pixel counts, eigenvalues and fitted normals equal numpy's (eigh)")
    func fits() throws {
        let fits = Self.fixture["fits"] as! [[String: Any]]
        #expect(fits.count == 3)
        for fit in fits {
            let images = fit["images"] as! [String]
            var scatter = StainScatter()
            for name in images { scatter.add(try ScoringFixtures.image(name)) }
            let reference = fit["scatter"] as! [[Double]], largest = reference.joined().map(abs).max()!
            #expect(scatter.pixels == fit["pixels"] as? Int, "\(images)")
            for (row, expected) in zip(scatter.matrix, reference) {
                #expect(zip(row, expected).allSatisfy { Self.relative($0, $1, scale: largest) <= 1e-12 }, "\(images) \(row) vs \(expected)")
            }
            // The solver on numpy's own matrix, then the whole fit on ours.
            let eigen = SymmetricEigen3(reference), values = fit["eigenvalues"] as! [Double]
            #expect(zip(eigen.values, values).allSatisfy { Self.relative($0, $1, scale: values.last!) <= 1e-12 }, "\(eigen.values) vs \(values)")
            let normal = fit["normal"] as! [Double]
            let exact = try StainPlane.fit(scatter: reference, pixels: fit["pixels"] as! Int)
            #expect(zip(exact.normal, normal).allSatisfy { abs($0 - $1) <= 1e-9 }, "\(exact.normal) vs \(normal)")
            let ours = try scatter.plane()
            #expect(zip(ours.normal, normal).allSatisfy { abs($0 - $1) <= 1e-9 } && ours.pixels == scatter.pixels)
        }
        let tooFew = Self.fixture["too_few"] as! [String: Any]
        var glass = StainScatter()
        for name in tooFew["images"] as! [String] { glass.add(try ScoringFixtures.image(name)) }
        #expect(glass.pixels == tooFew["pixels"] as? Int && glass.pixels < StainPlane.minimumPixels)
        #expect(throws: ScoringError.self) { try glass.plane() }
    }

    @Test("stain residual maps and stain_p99 equal stats.py's (≤ 1e-9; maps to float32 rounding)")
    func residuals() throws {
        let cases = Self.fixture["cases"] as! [[String: Any]]
        #expect(cases.count == 10)
        var maps = 0
        for c in cases {
            let image = try ScoringFixtures.image(c["image"] as! String), normalName = c["normal"] as! String
            let workspace = ScoringWorkspace(width: image.width, height: image.height)
            let p99 = StainResidual.compute(image: image, normal: try ScoringFixtures.stainNormal(normalName), workspace: workspace)
            let expected = c["stain_p99"] as! Double
            #expect(abs(p99 - expected) <= 1e-9 * max(1, expected), "\(c["image"]!) \(normalName): \(p99) vs \(expected)")
            if let name = c["map"] as? String {
                let reference = ScoringFixtures.stainMaps.tensors[name]!
                #expect(reference.shape == [image.height, image.width])
                #expect(maxDifference(workspace.stain, reference.values.map(Double.init)) <= 1e-6, "\(name)")
                maps += 1
            }
        }
        #expect(maps == 3)
    }

    @Test("the fitted normal is calibration.json's stain plane")
    func calibrationPlane() throws {
        let plane = try ScoringFixtures.calibration().stainPlane
        let fitted = try ScoringFixtures.stainNormal()
        // ≤ 1 ulp: JSONSerialization (stain.json) and JSONDecoder (the block) may round a long decimal differently.
        let difference = (0..<3).map { plane.normalVector[$0] - fitted[$0] }
        #expect(difference.allSatisfy { abs($0) <= 1e-15 }, "\(difference)")
        #expect(plane.pixels == (Self.fixture["fits"] as! [[String: Any]])[0]["pixels"] as? Int)
    }
}
