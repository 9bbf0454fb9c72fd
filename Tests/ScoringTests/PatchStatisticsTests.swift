import Foundation
import Testing
@testable import Scoring

/// Every statistic against `histoae_training.stats` (numpy, float64) and the mean SSIM against scikit-image.
@Suite("Patch statistics")
struct PatchStatisticsTests {
    static let tolerance = 1e-5

    @Test("the five error statistics equal stats.py's, and the mean SSIM scikit-image's")
    func errorStatistics() throws {
        for c in try ScoringFixtures.cases() {
            let workspace = ScoringWorkspace(width: c.width, height: c.height)
            ErrorMaps.compute(input: c.x, reconstruction: c.xHat, workspace: workspace)
            let s = ErrorStatistics(workspace: workspace)
            let swift = ["mse": s.mse, "l1": s.l1, "ssim": s.ssim, "mse_p99": s.mseP99, "dssim_p99": s.dssimP99]
            for (key, value) in swift {
                let reference = c.statistics[key]!
                #expect(abs(value - reference) <= Self.tolerance, "\(c.name) \(key): \(value) vs \(reference)")
            }
            #expect(abs(s.ssim - c.skimageSSIM) <= Self.tolerance, "\(c.name): SSIM \(s.ssim) vs skimage \(c.skimageSSIM)")
        }
    }

    @Test("tissue fraction and sharpness equal stats.py's (the tissue pixel count exactly)")
    func qualitySignals() throws {
        let quality = try ScoringFixtures.json("statistics.json")["quality"] as! [[String: Any]]
        #expect(quality.count == 4)
        for q in quality {
            let image = try ScoringFixtures.image(q["image"] as! String)
            let signals = QualitySignals(image: image, workspace: ScoringWorkspace(width: image.width, height: image.height))
            let fraction = q["tissue_fraction"] as! Double, pixels = Double(image.width * image.height)
            #expect(abs(signals.tissueFraction - fraction) < 1e-12, "\(q["image"]!)")   // numpy sums pairwise
            #expect((signals.tissueFraction * pixels).rounded() == (fraction * pixels).rounded())
            let sharpness = q["sharpness"] as! Double
            #expect(abs(signals.sharpness - sharpness) <= 1e-9 * max(1, sharpness), "\(q["image"]!)")
        }
    }

    @Test("PatchStatistics.compute gives all eight statistics of the full-size cases")
    func allEight() throws {
        let workspace = ScoringWorkspace()
        var checked = 0
        let normal = try ScoringFixtures.stainNormal()
        for var c in try ScoringFixtures.cases() {
            guard let image = c.image else { continue }
            c.statistics["stain_p99"] = try ScoringFixtures.stainP99(image: c.input!)
            let s = PatchStatistics.compute(input: c.x, reconstruction: c.xHat, image: image, workspace: workspace,
                                            stainNormal: normal)
            for statistic in Statistic.allCases {
                #expect(abs(s[statistic] - c.statistics[statistic.rawValue]!) <= Self.tolerance, "\(c.name) \(statistic)")
            }
            checked += 1
        }
        #expect(checked == 4)
    }

    @Test("a reused workspace gives the same answer as a fresh one")
    func reuse() throws {
        let cases = try ScoringFixtures.cases().filter { $0.image != nil }
        let shared = ScoringWorkspace(), n = SIMD3<Double>(0.36, -0.6, 0.71)
        let first = PatchStatistics.compute(input: cases[0].x, reconstruction: cases[0].xHat, image: cases[0].image!,
                                            workspace: shared, stainNormal: n)
        let maps = ErrorMapSet(shared)
        _ = PatchStatistics.compute(input: cases[1].x, reconstruction: cases[1].xHat, image: cases[1].image!,
                                    workspace: shared, stainNormal: n)
        let again = PatchStatistics.compute(input: cases[0].x, reconstruction: cases[0].xHat, image: cases[0].image!,
                                            workspace: shared, stainNormal: n)
        #expect(first == again && ErrorMapSet(shared) == maps)
    }

    @Test("JSON keys are the calibration block's statistic names")
    func keys() throws {
        let s = PatchStatistics { Double(Statistic.allCases.firstIndex(of: $0)!) }
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as! [String: Double]
        #expect(Set(object.keys) == Set(Statistic.allCases.map(\.rawValue)))
        #expect(object["mse_p99"] == 3 && object["tissue_fraction"] == 5 && object["stain_p99"] == 7)
        #expect(try JSONDecoder().decode(PatchStatistics.self, from: JSONEncoder().encode(s)) == s)
    }
}
