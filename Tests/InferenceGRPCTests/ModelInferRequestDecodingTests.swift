import Foundation
@testable import InferenceGRPC
import InferenceProtocol
import Testing

/// The transport's own rules, without a server: where elements travel, which typed field, parameter values.
struct ModelInferRequestDecodingTests {
    static func tensor(_ name: String = "image", datatype: String = "UINT8") -> Inference_ModelInferRequest.InferInputTensor {
        var tensor = Inference_ModelInferRequest.InferInputTensor()
        tensor.name = name
        tensor.datatype = datatype
        tensor.shape = [1, 2]
        return tensor
    }

    /// The refusal's kind; nil when `body` succeeded.
    static func kind(_ body: () throws -> some Any) -> InferenceError.Kind? {
        do { _ = try body(); return nil } catch { return (error as? InferenceError)?.kind ?? .internal }
    }

    @Test func rawContentsBecomeRawBytesInOrder() throws {
        var message = Inference_ModelInferRequest()
        message.inputs = [Self.tensor("a"), Self.tensor("b")]
        message.rawInputContents = [Data([1, 2]), Data([3, 4])]
        message.id = "x"
        let request = try ModelInferRequestDecoding.decode(message)
        #expect(request.id == "x" && request.outputs == nil)
        guard case .raw(let first) = request.inputs[0].contents, case .raw(let second) = request.inputs[1].contents else {
            Issue.record("not raw"); return
        }
        #expect(first == [1, 2] && second == [3, 4])
        #expect(request.inputs[1].shape == [1, 2])
    }

    @Test func rawContentsMustCoverEveryInputAlone() {
        var message = Inference_ModelInferRequest()
        message.inputs = [Self.tensor("a"), Self.tensor("b")]
        message.rawInputContents = [Data([1, 2])]
        #expect(Self.kind { try ModelInferRequestDecoding.decode(message) } == .invalidArgument)
        message.inputs = [Self.tensor("a")]
        message.inputs[0].contents.uintContents = [1, 2]
        #expect(Self.kind { try ModelInferRequestDecoding.decode(message) } == .invalidArgument)
    }

    @Test func typedContentsMustUseTheDatatypesField() throws {
        var message = Inference_ModelInferRequest()
        message.inputs = [Self.tensor(datatype: "FP32")]
        message.inputs[0].contents.fp32Contents = [0.5, -1]
        guard case .numbers(let values) = try ModelInferRequestDecoding.decode(message).inputs[0].contents else {
            Issue.record("not numbers"); return
        }
        #expect(values == [0.5, -1])
        message.inputs[0].contents.fp64Contents = [1]   // two fields
        #expect(Self.kind { try ModelInferRequestDecoding.decode(message) } == .invalidArgument)
        message.inputs[0].contents = .init()
        message.inputs[0].contents.uintContents = [1, 2]   // FP32 elements travel in fp32_contents
        #expect(Self.kind { try ModelInferRequestDecoding.decode(message) } == .invalidArgument)
        message.inputs[0].datatype = "BYTES"
        message.inputs[0].contents = .init()
        message.inputs[0].contents.bytesContents = [Data("ok".utf8)]
        guard case .strings(let strings) = try ModelInferRequestDecoding.decode(message).inputs[0].contents else {
            Issue.record("not strings"); return
        }
        #expect(strings == [Array("ok".utf8)])
    }

    @Test func parametersKeepTheirTypesAndRefuseWhatDoesNotFit() throws {
        var message = Inference_ModelInferRequest()
        message.parameters = ["timeout": .with { $0.uint64Param = 5000 }, "threshold": .with { $0.doubleParam = 0.4 },
                              "flag": .with { $0.boolParam = true }, "name": .with { $0.stringParam = "n" }]
        message.outputs = [.with { $0.name = "score"; $0.parameters = ["binary_data": .with { $0.boolParam = false }] }]
        let request = try ModelInferRequestDecoding.decode(message)
        #expect(request.parameters == ["timeout": .int(5000), "threshold": .double(0.4), "flag": .bool(true), "name": .string("n")])
        #expect(request.outputs?.first?.parameters == ["binary_data": .bool(false)])
        message.parameters = ["timeout": .with { $0.uint64Param = UInt64(Int64.max) + 1 }]
        #expect(Self.kind { try ModelInferRequestDecoding.decode(message) } == .invalidArgument)
        message.parameters = ["timeout": Inference_InferParameter()]   // no value set
        #expect(Self.kind { try ModelInferRequestDecoding.decode(message) } == .invalidArgument)
    }

    @Test func grpcTimeoutIsReadInEveryUnit() {
        #expect(GRPCTimeout.milliseconds("1500m") == 1500)
        #expect(GRPCTimeout.milliseconds("2S") == 2000)
        #expect(GRPCTimeout.milliseconds("1M") == 60_000)
        #expect(GRPCTimeout.milliseconds("1H") == 3_600_000)
        #expect(GRPCTimeout.milliseconds("1001u") == 2)     // rounded up
        #expect(GRPCTimeout.milliseconds("1n") == 1)
        #expect(GRPCTimeout.milliseconds("99999999H") == 99_999_999 * 3_600_000)
        for malformed in ["", "m", "123456789m", "12x", "-1m", "1.5S"] { #expect(GRPCTimeout.milliseconds(malformed) == nil) }
        #expect(GRPCTimeout.milliseconds(in: ["grpc-timeout": "250m"]) == 250)
        #expect(GRPCTimeout.milliseconds(in: [:]) == nil)
    }
}
