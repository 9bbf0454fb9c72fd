import Foundation
import Testing
import TensorKernels
@testable import AutoencoderModel

/// docs/model.md §10–§12 end to end: the Swift forward pass equals PyTorch's on the same F16 weights.
@Suite("CNNAutoencoder3 parity with PyTorch")
struct ParityTests {
    static let model = try! CNNAutoencoder3(contentsOf: ParityFixtures.weightsURL)

    @Test("whole model: max |Swift − PyTorch| ≤ 1e-4")
    func wholeModel() {
        let output = Self.model.reconstruct(ParityFixtures.tensor("input"), workspace: Workspace())
        let difference = output.maxAbsDifference(ParityFixtures.tensor("output"))
        #expect(difference <= 1e-4, "max abs difference \(difference)")
    }

    /// Every block's output inside the full forward pass, so a failure names the layer.
    @Test("each block within 1e-4", arguments: CNNAutoencoder3.Block.allCases.filter { $0 != .output })
    func block(_ block: CNNAutoencoder3.Block) {
        let want = ParityFixtures.tensor(block.rawValue)            // (C_slice, H, W) of image 0
        let input = ParityFixtures.tensor("input")
        var got: Tensor?
        var output = Tensor(zeros: input.shape)
        input.values.withUnsafeBufferPointer { x in
            output.values.withUnsafeMutableBufferPointer { y in
                Self.model.forward(input: x.baseAddress!, count: input.shape[0], output: y.baseAddress!,
                                   workspace: Workspace()) { name, values, shape in
                    guard name == block else { return }
                    // (C, N, H, W): channel c of image 0 starts at c·N·H·W.
                    var slice = [Float]()
                    for c in 0..<want.shape[0] {
                        slice += UnsafeBufferPointer(start: values + c * shape.channelStride, count: shape.plane)
                    }
                    got = Tensor(shape: [want.shape[0], shape.height, shape.width], values: slice)
                }
            }
        }
        guard let got else { Issue.record("block \(block) never observed"); return }
        #expect(got.shape == want.shape)
        let difference = got.maxAbsDifference(want)
        #expect(difference <= 1e-4, "\(block): max abs difference \(difference)")
    }

    @Test("an image alone gives the same answer as inside the batch")
    func batchIndependence() {
        let input = ParityFixtures.tensor("input")
        let last = input.shape[0] - 1
        let per = input.count / input.shape[0]
        let single = Tensor(shape: [1, 3, 150, 150], values: Array(input.values[(last * per)...]))
        let workspace = Workspace()
        let alone = Self.model.reconstruct(single, workspace: workspace)
        #expect(alone.maxAbsDifference(ParityFixtures.tensor("output_batch1")) <= 1e-4)
        let batched = Self.model.reconstruct(input, workspace: workspace)   // reused, grown workspace
        let fromBatch = Tensor(shape: [1, 3, 150, 150], values: Array(batched.values[(last * per)...]))
        #expect(alone.maxAbsDifference(fromBatch) <= 1e-5)
    }
}
