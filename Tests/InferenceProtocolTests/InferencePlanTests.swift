import ImageCodecs
@testable import InferenceProtocol
import InferenceService
import Testing

/// A request checked against the model: which inputs, shapes, datatypes, outputs and parameters are taken,
/// and how much the engine computes for them.
struct InferencePlanTests {
    static let side = ModelSignature.side

    static func image(count: Int = 1, datatype: String = "UINT8", shape: [Int]? = nil, contents: TensorContents? = nil,
                      outputs: [String]? = nil, parameters: [String: ParameterValue] = [:]) -> InferenceRequest {
        let values = count * side * side * 3
        return InferenceRequest(inputs: [InputTensor(name: "image", datatype: datatype, shape: shape ?? [count, side, side, 3],
                                                     contents: contents ?? .raw([UInt8](repeating: 128, count: values)))],
                                outputs: outputs?.map { RequestedOutput(name: $0) }, parameters: parameters)
    }

    static func refusal(_ request: InferenceRequest, maxPatches: Int = 4) -> InferenceError? {
        do { _ = try InferencePlan(request, maxPatches: maxPatches) } catch { return error }
        return nil
    }

    @Test func scoreOnlyOutputsTakeTheFastPathAndMapsTheFullPass() throws {
        #expect(try InferencePlan(Self.image(outputs: ["score", "verdict", "statistics"]), maxPatches: 4).detail == .score)
        #expect(try InferencePlan(Self.image(outputs: ["score", "mse_map"]), maxPatches: 4).detail == .full)
        #expect(try InferencePlan(Self.image(outputs: ["reconstruction"]), maxPatches: 4).detail == .full)
        let all = try InferencePlan(Self.image(count: 3), maxPatches: 4)
        #expect(all.detail == .full && all.patches.count == 3 && all.outputs.map(\.name) == ModelSignature.OutputName.allCases)
        let normalized = InferenceRequest(inputs: [InputTensor(name: "input", datatype: "FP32", shape: [1, 3, Self.side, Self.side],
                                                               contents: .numbers([Double](repeating: 0.25, count: 3 * Self.side * Self.side)))])
        let plan = try InferencePlan(normalized, maxPatches: 4)
        #expect(plan.detail == .reconstruction && plan.outputs.map(\.name) == [.reconstruction])
        guard case .normalized(let values) = plan.patches[0] else { Issue.record("expected normalized"); return }
        #expect(values.count == 3 * Self.side * Self.side && values.allSatisfy { $0 == 0.25 })
    }

    @Test func rawPixelsArePatchesInOrder() throws {
        let per = Self.side * Self.side * 3
        let bytes = (0..<(2 * per)).map { UInt8(truncatingIfNeeded: $0 / per * 7 + $0 % 5) }
        let plan = try InferencePlan(Self.image(count: 2, contents: .raw(bytes)), maxPatches: 4)
        guard case .image(let first) = plan.patches[0], case .image(let second) = plan.patches[1] else { Issue.record("expected images"); return }
        #expect(first.pixels == Array(bytes[0..<per]) && second.pixels == Array(bytes[per...]))
        #expect(first.width == Self.side && first.height == Self.side)
    }

    @Test func wrongRequestsAreRefusedByName() {
        let side = Self.side
        #expect(Self.refusal(Self.image(datatype: "FP32"))?.message.contains("must be UINT8, got FP32") == true)
        #expect(Self.refusal(Self.image(shape: [1, side, side, 4]))?.message.contains("shape [N, 150, 150, 3]") == true)
        #expect(Self.refusal(Self.image(shape: [0, side, side, 3]))?.message.contains("N ≥ 1") == true)
        #expect(Self.refusal(Self.image(count: 5))?.kind == .tooLarge)
        #expect(Self.refusal(Self.image(shape: [Int.max, side, side, 3]))?.kind == .tooLarge)
        #expect(Self.refusal(Self.image(contents: .raw([1, 2, 3])))?.message.contains("needs 67500 bytes of UINT8, got 3") == true)
        #expect(Self.refusal(Self.image(contents: .numbers([Double](repeating: 256, count: 67_500))))?.message.contains("0…255") == true)
        #expect(Self.refusal(Self.image(contents: .numbers([Double](repeating: 1.5, count: 67_500))))?.message.contains("whole numbers") == true)
        #expect(Self.refusal(Self.image(outputs: ["logits"]))?.message.contains("unknown output 'logits'") == true)
        #expect(Self.refusal(Self.image(outputs: ["score", "score"]))?.message.contains("twice") == true)
        #expect(Self.refusal(Self.image(parameters: ["priority": .int(1)]))?.message.contains("unsupported request parameter 'priority'") == true)
        #expect(Self.refusal(Self.image(parameters: ["fpr": .double(0.1), "threshold": .double(0.9)]))?.message.contains("give one of them") == true)
        #expect(Self.refusal(Self.image(parameters: ["fpr": .double(2)]))?.message.contains("[0, 1]") == true)
        #expect(Self.refusal(Self.image(parameters: ["timeout": .int(0)]))?.message.contains("timeout") == true)
        var two = Self.image()
        two.inputs.append(two.inputs[0])
        #expect(Self.refusal(two)?.message.contains("exactly one input") == true)
        var renamed = Self.image()
        renamed.inputs[0].name = "pixels"
        #expect(Self.refusal(renamed)?.message.contains("unknown input 'pixels'") == true)
        var shared = Self.image()
        shared.inputs[0].parameters["shared_memory_region"] = .string("r")
        #expect(Self.refusal(shared)?.message.contains("shared memory") == true)
        let nan = InferenceRequest(inputs: [InputTensor(name: "input", datatype: "FP32", shape: [1, 3, side, side],
                                                        contents: .numbers([Double.nan] + [Double](repeating: 0, count: 3 * side * side - 1)))])
        #expect(Self.refusal(nan)?.message.contains("finite") == true)
        var scored = nan
        scored.inputs[0].contents = .numbers([Double](repeating: 0, count: 3 * side * side))
        scored.outputs = [RequestedOutput(name: "score")]
        #expect(Self.refusal(scored)?.message.contains("needs the patch's pixels") == true)
    }

    @Test func timeoutIsMicrosecondsRoundedUpToMilliseconds() throws {
        #expect(try InferencePlan(Self.image(parameters: ["timeout": .int(1)]), maxPatches: 4).timeoutMilliseconds == 1)
        #expect(try InferencePlan(Self.image(parameters: ["timeout": .int(2_000_000)]), maxPatches: 4).timeoutMilliseconds == 2000)
        #expect(try InferencePlan(Self.image(parameters: ["fpr": .double(0.05)]), maxPatches: 4).threshold == .fpr(0.05))
    }
}
