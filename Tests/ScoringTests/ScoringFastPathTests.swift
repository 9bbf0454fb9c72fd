import Foundation
import ImageCodecs
import Testing
@testable import Scoring
import TensorKernels

/// The fused and streaming scoring paths (SSIMMap's ring, the fused sums, the tissue table, the row-wise stain
/// residual, the percentile's sampled threshold) against the plain code they replaced (``ScoringReference``):
/// equal bit patterns on every element, on real patches, random data and odd sizes.
@Suite("Scoring fast paths")
struct ScoringFastPathTests {
    static func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }

    /// Random `(3, H, W)` pair in [−1, 1] and a random 8-bit image with black, white and gray pixels mixed in.
    static func randomCase(width: Int, height: Int, seed: UInt64) -> ([Float], [Float], RGBImage) {
        var rng = SplitMix64(seed: seed)
        let n = 3 * width * height
        let x = (0..<n).map { _ in Float(rng.nextUniform()) * 2 - 1 }
        let xHat = x.map { max(-1, min(1, $0 * 0.8 + Float(rng.nextUniform()) * 0.3 - 0.15)) }
        var pixels = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for p in stride(from: 0, to: n / 3, by: 7) {
            let v: UInt8 = [0, 255, 128][Int(rng.next() % 3)]
            pixels[3 * p] = v; pixels[3 * p + 1] = v; pixels[3 * p + 2] = v
        }
        return (x, xHat, RGBImage(width: width, height: height, pixels: pixels))
    }

    static func check(_ x: [Float], _ xHat: [Float], _ image: RGBImage, normal: SIMD3<Double>) {
        let w = image.width, h = image.height
        let ws = ScoringWorkspace(width: w, height: h)
        ErrorMaps.compute(input: x, reconstruction: xHat, workspace: ws)
        #expect(bits(ws.ssim) == bits(ScoringReference.ssim(x, xHat, width: w, height: h)), "ssim \(w)×\(h)")
        let errors = ErrorStatistics(workspace: ws)
        let means = ScoringReference.means(se: ws.squaredError, ae: ws.absoluteError, ssim: ws.ssim, width: w, height: h)
        #expect(bits([errors.mse, errors.l1, errors.ssim]) == bits(means), "means \(w)×\(h)")
        let quality = QualitySignals(image: image, workspace: ws)
        #expect(bits([quality.tissueFraction, quality.sharpness]) == bits(ScoringReference.quality(image)))
        StainResidual.compute(image: image, normal: normal, workspace: ws)
        #expect(bits(ws.stain) == bits(ScoringReference.stain(image, normal: normal)), "stain \(w)×\(h)")
    }

    @Test("maps, sums and signals equal the plain code on the fixture patches")
    func fixturePatches() throws {
        for name in ["patch0.png", "patch1.png"] {
            let image = try ScoringFixtures.image(name)
            let x = ScoringFixtures.normalized(image)
            let xHat = ScoringFixtures.normalized(try ScoringFixtures.image("recon_blur0.png"))
            Self.check(x, xHat, image, normal: try ScoringFixtures.stainNormal())
            Self.check(x, xHat, image, normal: try ScoringFixtures.stainNormal("textbook"))
        }
    }

    @Test("maps, sums and signals equal the plain code on random data", arguments: [
        (150, 150), (11, 11), (12, 17), (37, 23), (200, 13), (13, 200), (151, 149),
    ])
    func randomData(width: Int, height: Int) {
        let (x, xHat, image) = Self.randomCase(width: width, height: height, seed: UInt64(width * 1000 + height))
        Self.check(x, xHat, image, normal: SIMD3(0.21, -0.55, 0.81))
    }

    @Test("the tissue table is the per-pixel test for every pair of extremes")
    func tissueTable() {
        for high in 0...255 {
            for low in 0...high {
                let r = UInt8(high), b = UInt8(low), g = UInt8((high + low) / 2)
                #expect((QualitySignals.tissueTable[high << 8 | low] == 1) == QualitySignals.isTissue(r, g, b))
            }
        }
    }

    /// Values as the maps have them (smooth, many equal), plus infinities, zeros of both signs and NaNs.
    static func percentileCase(_ trial: Int, _ rng: inout SplitMix64) -> [Double] {
        let n = [4096, 5000, 22_500, 30_001][trial % 4]
        var values = (0..<n).map { i -> Double in
            switch trial % 5 {
            case 0: Double(rng.next() % 64)                                   // many ties
            case 1: Double(rng.nextUniform()) * Double(rng.nextUniform())      // smooth, skewed
            case 2: sin(Double(i) / 40) + 1                                    // correlated, like a smoothed map
            case 3: Double(i % 3 == 0 ? 0 : 1) * Double(rng.nextUniform())     // +0 in bulk
            default: Double(rng.nextUniform()) - 0.999                          // mostly negative
            }
        }
        if trial % 7 == 0 { values[n / 2] = .infinity; values[3] = -.infinity }
        if trial % 11 == 0 { values[n / 3] = -0.0; values[n / 5] = 0 }
        if trial % 13 == 0 { values[n - 2] = .nan }
        if trial % 17 == 0 { for i in 0 ..< n where i % 9 == 0 { values[i] = 1e300 } }   // the top all equal
        return values
    }

    @Test("the sampled-threshold percentile returns the selection's bits (ties, ±0, ±∞, NaN, sample misses)")
    func percentile() {
        var rng = SplitMix64(seed: 99)
        for trial in 0..<120 {
            let values = Self.percentileCase(trial, &rng)
            for q in [99.0, 99.9, 95.0, 100.0, 50.0] {
                var plain = values, fast = values
                var scratch = [Double](repeating: .nan, count: values.count)
                let expected = plain.withUnsafeMutableBufferPointer { Percentile.linear($0, percent: q) }
                let got = fast.withUnsafeMutableBufferPointer { buffer in
                    scratch.withUnsafeMutableBufferPointer { Percentile.linear(buffer, percent: q, scratch: $0.baseAddress!) }
                }
                #expect(got.bitPattern == expected.bitPattern, "trial \(trial) q \(q): \(got) vs \(expected)")
            }
        }
    }

    @Test("the fast path runs on a smoothed map, and declines NaN and non-positive thresholds")
    func percentileFastPathTaken() {
        var rng = SplitMix64(seed: 5)
        let map = (0..<22_500).map { i in 0.01 + sin(Double(i) / 37) * 0.005 + Double(rng.nextUniform()) * 1e-3 }
        var scratch = [Double](repeating: 0, count: map.count)
        let pair = map.withUnsafeBufferPointer { a in
            scratch.withUnsafeMutableBufferPointer {
                Percentile.highOrderStatistics(a.baseAddress!, count: a.count, k: 22_274, scratch: $0.baseAddress!)
            }
        }
        let sorted = map.sorted()
        #expect(pair?.kth == sorted[22_274] && pair?.next == sorted[22_275])
        var withNaN = map; withNaN[100] = .nan
        let zeros = [Double](repeating: 0, count: 22_500)
        for values in [withNaN, zeros] {
            let declined = values.withUnsafeBufferPointer { a in
                scratch.withUnsafeMutableBufferPointer {
                    Percentile.highOrderStatistics(a.baseAddress!, count: a.count, k: 22_274, scratch: $0.baseAddress!)
                }
            }
            #expect(declined == nil)
        }
    }
}
