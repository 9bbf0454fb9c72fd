// libFuzzer target: NPY.read (Sources/TensorKernels/NPY.swift) on arbitrary bytes. Compiled by scripts/fuzz.sh
// with NPY.swift and Tensor.swift, bounds and overflow checks ON (the package builds TensorKernels -Ounchecked,
// where an overflowing element count would wrap silently instead of trapping).
//
//   scripts/fuzz.sh run npy 600
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard let tensor = try? NPY.read(Data(bytes: data, count: size)) else { return 0 }
    // An accepted array has a real shape and survives NPY.serialize → NPY.read bit for bit.
    require(tensor.shape.allSatisfy { $0 >= 0 }, "accepted a negative dimension: \(tensor.shape)")
    guard let again = try? NPY.read(NPY.serialize(tensor)) else {
        fatalError("fuzz invariant broken: NPY.serialize output of shape \(tensor.shape) does not read back")
    }
    require(again.shape == tensor.shape, "round trip changed the shape \(tensor.shape) → \(again.shape)")
    require(again.values.map(\.bitPattern) == tensor.values.map(\.bitPattern), "round trip changed values")
    return 0
}
