// libFuzzer target: SafetensorsFile(bytes:) (Sources/TensorKernels/Safetensors.swift) on arbitrary bytes.
// Compiled by scripts/fuzz.sh with Safetensors.swift and Tensor.swift, bounds and overflow checks ON (the
// package builds TensorKernels -Ounchecked, where an overflowing size would wrap silently instead of trapping).
//
//   scripts/fuzz.sh run safetensors 600
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard let file = try? SafetensorsFile(bytes: Data(bytes: data, count: size)) else { return 0 }
    // A parsed file must be self-consistent and must serialize back to a file that parses to the same tensors.
    for (name, tensor) in file.tensors {
        require(tensor.shape.allSatisfy { $0 >= 0 }, "tensor \(name) has a negative dimension \(tensor.shape)")
    }
    guard let again = try? SafetensorsFile(bytes: file.serialized()) else {
        fatalError("fuzz invariant broken: a parsed file's serialization does not parse")
    }
    require(again.tensors.keys.sorted() == file.tensors.keys.sorted(), "round trip changed the tensor names")
    for (name, tensor) in file.tensors {
        let copy = again.tensors[name]!
        require(copy.shape == tensor.shape, "round trip changed \(name)'s shape")
        require(copy.values.map(\.bitPattern) == tensor.values.map(\.bitPattern), "round trip changed \(name)'s values")
    }
    return 0
}
