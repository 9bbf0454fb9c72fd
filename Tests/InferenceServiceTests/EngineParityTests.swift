import AutoencoderModel
import Foundation
import InferenceService
import Testing
import TensorKernels

/// The engine's passes equal PyTorch on the parity fixtures (AutoencoderModelTests/Fixtures), whatever the
/// number of workers, and a patch's reconstruction does not depend on what else is queued.
@Suite(.serialized) struct EngineParityTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../AutoencoderModelTests/Fixtures").standardized
    static let model = try! CNNAutoencoder3(contentsOf: fixtures.appendingPathComponent("parity_weights_f16.safetensors"))
    static let io = try! SafetensorsFile(contentsOf: fixtures.appendingPathComponent("parity_io.safetensors"))

    static func patches(_ name: String) -> [[Float]] {
        let tensor = io.tensors[name]!
        let per = PatchArrays.patchCount
        return stride(from: 0, to: tensor.count, by: per).map { Array(tensor.values[$0..<($0 + per)]) }
    }

    func reconstruct(_ inputs: [[Float]], workers: Int) async throws -> [[Float]] {
        let engine = InferenceEngine(model: Self.model, scorer: nil,
                                     configuration: EngineConfiguration(workers: workers, queueCapacity: 64))
        engine.start()
        let outcome = try await engine.submit(inputs: inputs.map(PatchInput.normalized), detail: .reconstruction).get()
        await engine.drain()
        return outcome.patches.map { $0.reconstruction! }
    }

    @Test("every worker count equals PyTorch", arguments: [1, 2, 3])
    func workers(count: Int) async throws {
        let expected = Self.patches("output")
        let output = try await reconstruct(Self.patches("input"), workers: count)
        #expect(output.count == expected.count)
        for (got, want) in zip(output, expected) {
            #expect(zip(got, want).map { abs($0 - $1) }.max()! <= 1e-4)
        }
    }

    @Test("a lone patch split across two workers gives the bits of the patch among others")
    func aloneEqualsAmongOthers() async throws {
        let inputs = Self.patches("input")
        let among = try await reconstruct(inputs, workers: 2)
        let alone = try await reconstruct([inputs[inputs.count - 1]], workers: 2)
        #expect(alone[0] == among[inputs.count - 1])
    }

    @Test func scoringNeedsACardAndRGBPixels() async {
        let engine = InferenceEngine(model: Self.model, scorer: nil, configuration: EngineConfiguration(workers: 1))
        engine.start()
        let result = await engine.submit(inputs: [.normalized(Self.patches("input")[0])], detail: .score)
        await engine.drain()
        guard case .failure(.scoring) = result else { Issue.record("expected a scoring failure, got \(result)"); return }
    }
}
