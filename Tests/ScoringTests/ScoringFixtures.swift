import AutoencoderModel
import Foundation
import ImageCodecs
import Scoring
import TensorKernels

/// The golden fixtures of `training/scripts/make_scoring_fixtures.py` (see Fixtures/README.md).
enum ScoringFixtures {
    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(name))) as! [String: Any]
    }

    static func image(_ name: String) throws -> RGBImage {
        try ImageDecoder.decode([UInt8](Data(contentsOf: url(name))))
    }

    /// `(3, H, W)` normalized exactly as the engine (and the fixture script) does.
    static func normalized(_ image: RGBImage) -> [Float] {
        var values = [Float](repeating: 0, count: 3 * image.width * image.height)
        values.withUnsafeMutableBufferPointer { Normalization.normalize(image, into: $0.baseAddress!) }
        return values
    }

    static let maps: SafetensorsFile = try! SafetensorsFile(contentsOf: url("maps.safetensors"))

    static func tensor(_ name: String) -> Tensor { maps.tensors[name]! }

    /// One pair of statistics.json: x, x̂ (3, H, W), the 8-bit input where there is one, the reference values.
    struct Case {
        var name: String
        var width: Int, height: Int
        var x: [Float], xHat: [Float]
        var image: RGBImage?
        /// The 8-bit input's file, for the full-size cases.
        var input: String?
        var statistics: [String: Double]
        var skimageSSIM: Double
    }

    static func cases() throws -> [Case] {
        let all = try json("statistics.json")["cases"] as! [[String: Any]]
        return try all.map { c in
            let shape = c["shape"] as! [Int]
            let name = c["name"] as! String
            var x: [Float], xHat: [Float], image: RGBImage?
            if let tensors = c["tensors"] as? String {
                x = tensor("\(tensors).x").values
                xHat = tensor("\(tensors).x_hat").values
            } else {
                let input = try Self.image(c["input"] as! String)
                image = input
                x = normalized(input)
                if let constant = c["reconstruction_constant"] as? [Double] {
                    let plane = shape[1] * shape[2]
                    xHat = constant.flatMap { [Float](repeating: Float($0), count: plane) }
                } else {
                    xHat = normalized(try Self.image(c["reconstruction"] as! String))
                }
            }
            return Case(name: name, width: shape[2], height: shape[1], x: x, xHat: xHat, image: image,
                        input: c["input"] as? String,
                        statistics: c["statistics"] as! [String: Double], skimageSSIM: c["skimage_ssim"] as! Double)
        }
    }

    /// The model card fixture (random parity weights, calibration measured with them).
    static func card() throws -> ModelCard { try ModelCard(json: Data(contentsOf: url("model.json"))) }

    /// A stain normal of stain.json: `"fitted"` (the plane of patch0 + patch1, also calibration.json's) or
    /// `"textbook"` (Ruifrok & Johnston's H × E).
    static func stainNormal(_ name: String = "fitted") throws -> SIMD3<Double> {
        let v = (try json("stain.json")["normals"] as! [String: [Double]])[name]!
        return SIMD3(v[0], v[1], v[2])
    }

    /// stats.py's `stain_p99` of a fixture image under a named normal (stain.json `cases`).
    static func stainP99(image: String, normal: String = "fitted") throws -> Double {
        let cases = try json("stain.json")["cases"] as! [[String: Any]]
        let match = cases.first { $0["image"] as? String == image && $0["normal"] as? String == normal }
        return match!["stain_p99"] as! Double
    }

    /// The stain residual maps of stain.safetensors.
    static let stainMaps: SafetensorsFile = try! SafetensorsFile(contentsOf: url("stain.safetensors"))

    /// The calibration block made from seeded random values.
    static func calibration() throws -> Calibration {
        let block = try JSONSerialization.data(withJSONObject: json("calibration.json")["calibration"]!)
        return try Calibration(json: block)
    }
}

/// Largest absolute difference.
func maxDifference(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
