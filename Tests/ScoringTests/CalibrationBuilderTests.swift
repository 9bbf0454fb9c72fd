import Foundation
import ImageCodecs
import Testing
@testable import Scoring

/// Building the calibration block: numpy's reductions, the minimum, one pass against two passes.
@Suite("Calibration builder")
struct CalibrationBuilderTests {
    /// Exactly representable in both languages; the tiny term makes the summation order matter.
    static func numpyValues(_ n: Int) -> [Double] {
        (0..<n).map { (i: Int) -> Double in
            let mantissa = Double((i * 7919) % 1009) / 64
            let scaled: Double = mantissa * pow(2.0, Double(i % 11 - 5))
            return scaled + 1e-7 * Double((i * 31) % 17)
        }
    }

    @Test("sum, mean, std and 'linear' quantiles equal numpy's bit for bit (values printed by numpy 2.4)",
          arguments: [
            (1000, 42945.72345685, 42.94572345685, 82.97504835788631,
             [0.0, 0.0019527702750000001, 5.57812525, 150.35000027000004, 409.50200079969994, 411.5000005]),
            (37, 1586.876982825, 42.88856710337838, 86.51610983572023,
             [0.0, 0.0020391057, 3.45703215, 123.65000087999991, 405.47000051079976, 411.5000005]),
            (129, 6061.362896768749, 46.98730927727713, 90.54797084591483,
             [0.0, 0.0042500511999999996, 5.6250015, 159.45000094, 411.2440005384, 411.5000005]),
          ])
    func numpy(_ n: Int, _ sum: Double, _ mean: Double, _ std: Double, _ quantiles: [Double]) {
        let v = Self.numpyValues(n)
        #expect(NumpyReductions.sum(v) == sum && NumpyReductions.sum(v) != v.reduce(0, +))   // pairwise, not sequential
        #expect(NumpyReductions.mean(v) == mean && NumpyReductions.std(v) == std)
        #expect(NumpyReductions.quantiles(v, at: [0, 0.001, 0.5, 0.9, 0.999, 1]) == quantiles)
    }

    @Test("the standard levels are stats.py's QUANTILE_LEVELS")
    func levels() throws {
        let levels = Calibration.standardQuantileLevels
        #expect(levels.count == 105 && levels.firstIndex(of: 0.9) == 92)
        let fixture = try ScoringFixtures.json("calibration.json")["calibration"] as! [String: Any]
        #expect(fixture["quantile_levels"] as? [Double] == levels)
    }

    @Test("fewer than 50 patches are refused, naming the minimum")
    func minimum() throws {
        var builder = CalibrationBuilder(stainPlane: SyntheticCalibration.plane)
        for s in SyntheticCalibration.statistics(count: 49) { try builder.add(s) }
        #expect(throws: ScoringError.tooFewCalibrationPatches(count: 49, minimum: 50)) { try builder.build(source: "x") }
        #expect("\(ScoringError.tooFewCalibrationPatches(count: 49, minimum: 50))" == "calibration needs at least 50 patches, got 49")
        #expect(Calibration.minimumPatches == 50)
        try builder.add(SyntheticCalibration.statistics(count: 1, seed: 99)[0])
        #expect(try builder.build(source: "x").patches == 50)
    }

    @Test("bad input: non-finite statistics, statistics on a one-pass builder")
    func refusals() {
        var builder = CalibrationBuilder(stainPlane: SyntheticCalibration.plane)
        var s = SyntheticCalibration.patch()
        s.sharpness = .infinity
        #expect(throws: ScoringError.self) { try builder.add(s) }
        var onePass = CalibrationBuilder()
        #expect { try onePass.add(SyntheticCalibration.patch()) } throws: { "\($0)".contains("stain plane") }
    }

    /// `count` distinct 8-bit patches from the fixture images (rotated, mirrored, brightened) with their
    /// normalized inputs and a "reconstruction" (the next one's pixels).
    static func patches(_ count: Int) throws -> [(image: RGBImage, x: [Float], xHat: [Float])] {
        let bases = try ["patch0.png", "patch1.png", "recon_blur0.png", "recon_noise1.png"].map(ScoringFixtures.image)
        func variant(_ k: Int) -> RGBImage {
            let base = bases[k % 4], turns = (k / 4) % 4, mirror = (k / 16) % 2 == 1, lift = k / 32 * 9
            var out = base
            for y in 0..<150 {
                for x in 0..<150 {
                    var (sx, sy) = (x, y)
                    for _ in 0..<turns { (sx, sy) = (sy, 149 - sx) }
                    if mirror { sx = 149 - sx }
                    for c in 0..<3 { out.pixels[(y * 150 + x) * 3 + c] = UInt8(min(255, Int(base.pixels[(sy * 150 + sx) * 3 + c]) + lift)) }
                }
            }
            return out
        }
        let images = (0...count).map(variant)
        return (0..<count).map { (images[$0], ScoringFixtures.normalized(images[$0]), ScoringFixtures.normalized(images[$0 + 1])) }
    }

    @Test("one pass (images kept) and two passes (plane first) build the same block, which validates")
    func passes() throws {
        let patches = try Self.patches(50)
        let workspace = ScoringWorkspace()
        var onePass = CalibrationBuilder()
        var scatter = StainScatter()
        for p in patches {
            try onePass.add(image: p.image, input: p.x, reconstruction: p.xHat, workspace: workspace)
            scatter.add(p.image)
        }
        let plane = try scatter.plane()
        var twoPass = CalibrationBuilder(stainPlane: plane)
        var byStatistics = CalibrationBuilder(stainPlane: plane)
        for p in patches {
            try twoPass.add(image: p.image, input: p.x, reconstruction: p.xHat, workspace: workspace)
            try byStatistics.add(PatchStatistics.compute(input: p.x, reconstruction: p.xHat, image: p.image,
                                                         workspace: workspace, stainNormal: plane.normalVector))
        }
        let block = try onePass.build(source: "fixture variants")
        #expect(onePass.count == 50 && scatter.patches == 50)
        #expect(block == (try twoPass.build(source: "fixture variants")))
        #expect(block == (try byStatistics.build(source: "fixture variants")))
        #expect(block.stainPlane == plane && block.patches == 50 && block.source == "fixture variants")
        #expect(block[.stainP99].logTransform == "log(x)" && block[.stainP99].quantiles.first! > 0)
        // Rotated copies tie, so fewer than 5 may lie strictly beyond the 0.9 quantile; some always do here.
        for method in ScoreMethod.allCases { #expect(block[method].tail.exceedances > 0, "\(method)") }
        // Round trip through JSON, and the block scores.
        #expect(try Calibration(json: JSONEncoder().encode(block)) == block)
        let scorer = try PatchScorer(model: SyntheticCalibration.model, calibration: block)
        let result = try scorer.score(input: patches[0].x, reconstruction: patches[0].xHat, image: patches[0].image, workspace: workspace)
        #expect((0..<1).contains(result.score) && result.calibration == CalibrationIdentity(source: "fixture variants", patches: 50))
    }
}
