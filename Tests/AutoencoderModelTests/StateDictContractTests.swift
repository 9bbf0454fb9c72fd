import Foundation
import Testing
import TensorKernels
@testable import AutoencoderModel

@Suite("State-dict contract")
struct StateDictContractTests {
    @Test("3,500,931 parameters, 58 float tensors")
    func counts() {
        #expect(StateDictContract.parameterCount == 3_500_931)
        #expect(StateDictContract.entries.count == 58)
    }

    @Test("the fixture weights (F16 with I64 num_batches_tracked) satisfy it")
    func fixtureLoads() throws {
        let file = try SafetensorsFile(contentsOf: ParityFixtures.weightsURL)
        try StateDictContract.validate(file)
        #expect(file.otherEntries.keys.allSatisfy { $0.hasSuffix("num_batches_tracked") })
    }

    @Test("a missing key, an extra key and a wrong shape are all reported at once")
    func everyProblemAtOnce() throws {
        var file = try SafetensorsFile(contentsOf: ParityFixtures.weightsURL)
        file.tensors["enc2.bn.running_var"] = nil
        file.tensors["decoder.extra.weight"] = Tensor(zeros: [2, 2])
        file.tensors["head.weight"] = Tensor(zeros: [3, 32, 5, 5])
        #expect {
            try StateDictContract.validate(file)
        } throws: { error in
            guard case ModelLoadError.contract(let problems) = error else { return false }
            let text = (error as! ModelLoadError).description
            return Set(problems) == [.missing(name: "enc2.bn.running_var", expected: [128]),
                                     .unexpected(name: "decoder.extra.weight", shape: [2, 2]),
                                     .wrongShape(name: "head.weight", expected: [3, 32, 3, 3], found: [3, 32, 5, 5])]
                && text.contains("3 problems")
        }
    }

    @Test("a file that is not safetensors is a load error, not a crash")
    func notSafetensors() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("not-weights-\(UUID()).safetensors")
        try Data("definitely not weights".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: ModelLoadError.self) { try CNNAutoencoder3(contentsOf: url) }
    }
}
