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

    /// One image on two workers: one pass, OpenBLAS and the kernels' own loops split across both threads.
    @Test("a single image on two threads equals the single-threaded pass")
    func singleImageOnTwoThreads() {
        let input = ParityFixtures.tensor("input")
        let per = input.count / input.shape[0]
        let single = Tensor(shape: [1, 3, 150, 150], values: Array(input.values[((input.shape[0] - 1) * per)...]))
        let engine = InferenceEngine(model: ParityTests.model, layout: ThreadLayout(workers: 2))
        let split = engine.reconstruct(single)
        #expect(split.maxAbsDifference(ParityFixtures.tensor("output_batch1")) <= 1e-4)
        let alone = ParityTests.model.reconstruct(single, workspace: Workspace())
        #expect(split.maxAbsDifference(alone) <= 1e-5)
    }
}
