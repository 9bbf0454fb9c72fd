// libFuzzer target: RESTRequestDecoding.decode (Sources/InferenceProtocol), the parser of
// `POST /v2/models/{name}/infer` bodies: JSON, optionally followed by binary tensor data. The first two bytes
// choose the Inference-Header-Content-Length (0xFFFF: none, the body is JSON only); the rest is the body.
//
//   scripts/fuzz.sh run infer-request 600
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInferRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 2 else { return 0 }
    let selector = Int(data[0]) << 8 | Int(data[1])
    let body = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    let headerLength: Int? = selector == 0xFFFF ? nil : selector
    do {
        let request = try RESTRequestDecoding.decode(body, headerLength: headerLength)
        // Every byte of binary data is accounted for by exactly one input's binary_data_size.
        let jsonEnd = headerLength ?? body.count
        var binaryBytes = 0
        for input in request.inputs {
            if case .raw(let bytes) = input.contents {
                guard case .int(let size)? = input.parameters["binary_data_size"] else { require(false, "raw contents without binary_data_size"); continue }
                require(Int(size) == bytes.count, "binary_data_size \(size) but \(bytes.count) bytes")
                binaryBytes += bytes.count
            }
            require(input.shape.allSatisfy { $0 >= 0 }, "a negative dimension was accepted")
        }
        require(jsonEnd + binaryBytes == body.count, "\(body.count - jsonEnd - binaryBytes) bytes unaccounted for")
    } catch {
        require(!error.message.isEmpty && !error.message.contains("\n"), "an error that is not one readable line: \(error.message.debugDescription)")
        require(error.kind == .invalidArgument, "a parse error of kind \(error.kind)")
    }
    return 0
}
