import Foundation
import ImageCodecs
import Testing
import TensorKernels
@testable import AutoencoderModel

@Suite("Input normalization (docs/model.md §3)")
struct NormalizationTests {
    @Test("decoded fixture PNGs normalize to exactly PyTorch's input")
    func matchesPyTorch() throws {
        let want = ParityFixtures.tensor("input")
        let images = try (0..<want.shape[0]).map { n in
            try ImageDecoder.decode([UInt8](Data(contentsOf: ParityFixtures.url("patch\(n)", "png"))))
        }
        let got = Normalization.batch(images)
        #expect(got.shape == want.shape)
        #expect(got.maxAbsDifference(want) <= 1e-7)
    }

    @Test("denormalize inverts normalize on 8-bit values")
    func roundTrip() {
        let pixels = (0..<(4 * 5 * 3)).map { UInt8(($0 * 37) % 256) }
        let image = RGBImage(width: 5, height: 4, pixels: pixels)
        let tensor = Normalization.batch([image])
        let back = tensor.values.withUnsafeBufferPointer { Normalization.denormalize($0.baseAddress!, width: 5, height: 4) }
        #expect(back == image)
        #expect(tensor.values.min()! >= -1 && tensor.values.max()! <= 1)
    }
}
