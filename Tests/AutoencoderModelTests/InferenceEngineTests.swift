import Testing
import TensorKernels
@testable import AutoencoderModel

@Suite("InferenceEngine worker threads")
struct InferenceEngineTests {
    @Test("split across workers, or one multi-threaded pass, equals PyTorch", arguments: [1, 2, 3])
    func layouts(workers: Int) {
        let engine = InferenceEngine(model: ParityTests.model, layout: ThreadLayout(workers: workers))
        let output = engine.reconstruct(ParityFixtures.tensor("input"))
        #expect(output.maxAbsDifference(ParityFixtures.tensor("output")) <= 1e-4)
        // Repeated calls reuse the workers' workspaces and stay identical.
        #expect(engine.reconstruct(ParityFixtures.tensor("input")) == output)
    }
}
