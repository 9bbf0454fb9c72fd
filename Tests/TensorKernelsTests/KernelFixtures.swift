import Foundation
import TensorKernels

/// PyTorch-made kernel fixtures (`training/scripts/make_parity_fixtures.py`), and helpers to run the engine's
/// `(C, N, H, W)` kernels on PyTorch's `(N, C, H, W)` tensors.
enum KernelFixtures {
    static let file: SafetensorsFile = {
        let url = Bundle.module.url(forResource: "Fixtures/kernels", withExtension: "safetensors")!
        return try! SafetensorsFile(contentsOf: url)
    }()

    static func tensor(_ name: String) -> Tensor {
        guard let t = file.tensors[name] else { fatalError("fixture \(name) missing") }
        return t
    }

    static func shape(ofNCHW t: Tensor) -> FeatureShape {
        FeatureShape(channels: t.shape[1], batch: t.shape[0], height: t.shape[2], width: t.shape[3])
    }

    /// Runs `body` on the CNHW form of an NCHW tensor; converts its CNHW result of `outShape` back to NCHW.
    static func run(_ input: Tensor, outShape: (FeatureShape) -> FeatureShape,
                    _ body: (UnsafePointer<Float>, FeatureShape, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let inShape = shape(ofNCHW: input)
        let out = outShape(inShape)
        var cnhwIn = [Float](repeating: 0, count: inShape.count)
        var cnhwOut = [Float](repeating: .nan, count: out.count)
        var result = Tensor(zeros: [out.batch, out.channels, out.height, out.width])
        input.values.withUnsafeBufferPointer { src in
            cnhwIn.withUnsafeMutableBufferPointer { Layout.nchwToCNHW(src.baseAddress!, $0.baseAddress!, shape: inShape) }
        }
        cnhwIn.withUnsafeBufferPointer { x in
            cnhwOut.withUnsafeMutableBufferPointer { y in body(x.baseAddress!, inShape, y.baseAddress!) }
        }
        cnhwOut.withUnsafeBufferPointer { y in
            result.values.withUnsafeMutableBufferPointer { Layout.cnhwToNCHW(y.baseAddress!, $0.baseAddress!, shape: out) }
        }
        return result
    }

    /// Images `[first, first+count)` of an NCHW tensor.
    static func slice(_ t: Tensor, first: Int, count: Int) -> Tensor {
        let per = t.count / t.shape[0]
        return Tensor(shape: [count] + t.shape.dropFirst(), values: Array(t.values[(first * per)..<((first + count) * per)]))
    }
}
