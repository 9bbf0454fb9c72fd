import Foundation
@testable import InferenceProtocol
import Testing

/// Responses as the binary tensor data extension and tritonclient read them.
struct RESTResponseEncodingTests {
    static let response = InferenceResponse(modelName: "histoae", modelVersion: "1.3.0", id: "a\"b", outputs: [
        OutputTensor(name: "score", datatype: .fp64, shape: [2], data: .fp64([0.25, 1e-300]), binary: false, parameters: [:]),
        OutputTensor(name: "verdict", datatype: .bytes, shape: [2], data: .bytes([Array("normal".utf8), Array("not_tissue".utf8)]),
                     binary: true, parameters: [:]),
        OutputTensor(name: "mse_map", datatype: .fp32, shape: [1, 1, 2], data: .fp32([1.5, -0.1]), binary: true, parameters: [:]),
    ])

    @Test func binaryOutputsFollowTheJSONWhichNamesTheirSizes() throws {
        let (body, headerLength) = RESTResponseEncoding.inference(Self.response)
        let length = try #require(headerLength)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body[..<length])) as? [String: Any])
        #expect(json["id"] as? String == "a\"b" && json["model_name"] as? String == "histoae")
        let outputs = try #require(json["outputs"] as? [[String: Any]])
        #expect(outputs[0]["data"] as? [Double] == [0.25, 1e-300])
        let verdictSize = (outputs[1]["parameters"] as? [String: Any])?["binary_data_size"] as? Int
        let mapSize = (outputs[2]["parameters"] as? [String: Any])?["binary_data_size"] as? Int
        #expect(verdictSize == 4 + 6 + 4 + 10 && mapSize == 8 && outputs[1]["data"] == nil)
        let binary = Array(body[length...])
        #expect(binary.count == 24 + 8)
        #expect(Array(binary[0..<4]) == [6, 0, 0, 0] && Array(binary[4..<10]) == Array("normal".utf8))
        let floats = binary[24...].withUnsafeBytes { raw in (0..<2).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        #expect(floats == [1.5, -0.1])
    }

    @Test func allJSONResponsesHaveNoHeaderLengthAndRoundTripEveryBit() throws {
        let values: [Float] = [0.1, 1e-45, 3.4028235e38, -0.0, 1]
        let response = InferenceResponse(modelName: "m", modelVersion: "1", id: nil, outputs: [
            OutputTensor(name: "x", datatype: .fp32, shape: [5], data: .fp32(values), binary: false, parameters: ["names": .string("a,b")]),
        ])
        let (body, headerLength) = RESTResponseEncoding.inference(response)
        #expect(headerLength == nil)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let output = try #require((json["outputs"] as? [[String: Any]])?.first)
        let read = try #require(output["data"] as? [Double]).map { Float($0) }
        #expect(read.map(\.bitPattern) == values.map(\.bitPattern))
        #expect((output["parameters"] as? [String: Any])?["names"] as? String == "a,b")
    }

    @Test func metadataListsBothInputsEveryOutputAndTheStatisticsNames() throws {
        let signature = ModelSignature(model: .init(name: "histoae", version: "1.3.0", weightsSHA256: "x"), precision: .fp32)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(RESTResponseEncoding.modelMetadata(signature))) as? [String: Any])
        #expect(json["name"] as? String == "histoae" && json["versions"] as? [String] == ["1.3.0"])
        let inputs = try #require(json["inputs"] as? [[String: Any]])
        #expect(inputs.map { $0["name"] as? String } == ["image", "input"])
        #expect(inputs[0]["shape"] as? [Int] == [-1, 150, 150, 3] && inputs[1]["datatype"] as? String == "FP32")
        let outputs = try #require(json["outputs"] as? [[String: Any]])
        #expect(outputs.count == 6)
        let statistics = try #require(outputs.first { $0["name"] as? String == "statistics" })
        #expect((statistics["parameters"] as? [String: Any])?["names"] as? [String] == ModelSignature.statisticNames)
    }
}
