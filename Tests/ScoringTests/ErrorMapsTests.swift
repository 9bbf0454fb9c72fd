import Foundation
import Testing
@testable import Scoring
import TensorKernels

/// The maps and the filter they rest on, against numpy (stats.py) and scikit-image.
@Suite("Error maps")
struct ErrorMapsTests {
    @Test("the reflect border mirrors the edge pixel and repeats with period 2n")
    func reflectIndex() {
        let n = 4
        let indices = (-6 ..< 10).map { GaussianFilter.reflectIndex($0, count: n) }
        // d c b a | a b c d | d c b a, continued: stats.py's reflect_index(4, 6).
        #expect(indices == [2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1])
        #expect(GaussianFilter.reflectIndex(-1, count: 1) == 0 && GaussianFilter.reflectIndex(5, count: 1) == 0)
    }

    @Test("Gaussian taps are symmetric and sum to 1")
    func kernel() {
        let k = GaussianFilter.kernel(sigma: 1.5, radius: 5)
        #expect(k.count == 11)
        #expect(abs(k.reduce(0, +) - 1) < 1e-15)
        #expect(k[0] == k[10] && k[5] == k.max())
    }

    @Test("a constant plane stays constant, border included")
    func constantPlane() {
        let filter = GaussianFilter(sigma: 4, radius: 12, width: 7, height: 5)   // radius longer than both sides
        let source = [Double](repeating: 0.375, count: 35)
        var out = [Double](repeating: 0, count: 35), tmp = out, pad = [Double](repeating: 0, count: 7 + 24)
        filter.apply(source, to: &out, temporary: &tmp, padded: &pad)
        #expect(out.allSatisfy { abs($0 - 0.375) < 1e-15 })
    }

    @Test("squared-error, absolute-error and SSIM maps equal numpy's", arguments: ["crop_noise", "crop_blur", "crop_constant", "odd_random"])
    func maps(_ name: String) throws {
        let x = ScoringFixtures.tensor("\(name).x"), xHat = ScoringFixtures.tensor("\(name).x_hat")
        let workspace = ScoringWorkspace(width: x.shape[2], height: x.shape[1])
        ErrorMaps.compute(input: x.values, reconstruction: xHat.values, workspace: workspace)
        // The references are stored as float32: agreement to float32 rounding, far inside 1e-5.
        for (map, key) in [(workspace.squaredError, "se"), (workspace.absoluteError, "ae"), (workspace.ssim, "ssim")] {
            let reference = ScoringFixtures.tensor("\(name).\(key)").values.map(Double.init)
            #expect(maxDifference(map, reference) < 1e-6, "\(name) \(key)")
        }
    }

    @Test("identical images: zero error, SSIM exactly 1 everywhere")
    func identical() throws {
        let x = ScoringFixtures.tensor("crop_noise.x")
        let workspace = ScoringWorkspace(width: x.shape[2], height: x.shape[1])
        ErrorMaps.compute(input: x.values, reconstruction: x.values, workspace: workspace)
        #expect(workspace.squaredError.allSatisfy { $0 == 0 } && workspace.ssim.allSatisfy { $0 == 1 })
        let stats = ErrorStatistics(workspace: workspace)
        #expect(stats.mse == 0 && stats.ssim == 1 && stats.dssimP99 == 0)
    }

    @Test("the percentile is numpy's 'linear' method", arguments: [
        ([1.0, 2, 3, 4], 99.0, 3.97), ([5.0], 99.0, 5.0), ([3.0, 1, 2], 50.0, 2.0), ([1.0, 2], 25.0, 1.25),
        ([4.0, 4, 4, 1, 9], 99.0, 8.8), ([0.0, 10], 100.0, 10.0), ([7.0, 3, 5], 0.0, 3.0),
    ])
    func percentile(_ values: [Double], _ q: Double, _ expected: Double) {
        var copy = values
        let p = copy.withUnsafeMutableBufferPointer { Percentile.linear($0, percent: q) }
        #expect(abs(p - expected) < 1e-12)
    }

    @Test("selection agrees with sorting on many random arrays")
    func selection() {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<200 {
            let n = 1 + trial % 37
            var values = (0..<n).map { _ in Double(Int.random(in: 0..<8, using: &generator)) }  // many ties
            let sorted = values.sorted()
            let k = Int.random(in: 0..<n, using: &generator)
            values.withUnsafeMutableBufferPointer { Percentile.select($0.baseAddress!, count: n, k: k) }
            #expect(values[k] == sorted[k])
            #expect(values[..<k].allSatisfy { $0 <= sorted[k] } && values[(k + 1)...].allSatisfy { $0 >= sorted[k] })
        }
    }
}

/// The register-blocked ``GaussianFilter`` against the plain tap-by-tap loops it replaced: same sums in the same
/// order, so bit-identical (the maps stay numpy's).
@Suite("Gaussian filter")
struct GaussianFilterTests {
    static func reference(_ filter: GaussianFilter, _ source: [Double]) -> [Double] {
        let w = filter.width, h = filter.height, r = filter.radius, k = filter.weights
        var temporary = [Double](repeating: 0, count: w * h), out = temporary
        for y in 0..<h {
            let padded = (-r ..< w + r).map { source[y * w + GaussianFilter.reflectIndex($0, count: w)] }
            for x in 0..<w { for t in 0..<k.count { temporary[y * w + x] += k[t] * padded[x + t] } }
        }
        for y in 0..<h {
            for t in 0..<k.count {
                let row = GaussianFilter.reflectIndex(y - r + t, count: h)
                for x in 0..<w { out[y * w + x] += k[t] * temporary[row * w + x] }
            }
        }
        return out
    }

    @Test("bit-identical to tap-by-tap accumulation", arguments: [(150, 150, 1.5, 5), (150, 150, 4.0, 12), (13, 9, 1.5, 5), (7, 5, 4.0, 12)])
    func matchesReference(width: Int, height: Int, sigma: Double, radius: Int) {
        var rng = SplitMix64(seed: UInt64(width * 31 + radius))
        let source = (0..<(width * height)).map { _ in Double(rng.nextUniform()) * 2 - 1 }
        let filter = GaussianFilter(sigma: sigma, radius: radius, width: width, height: height)
        var out = [Double](repeating: .nan, count: width * height), tmp = out
        var pad = [Double](repeating: 0, count: width + 2 * radius)
        filter.apply(source, to: &out, temporary: &tmp, padded: &pad)
        #expect(out == Self.reference(filter, source))
    }
}
