import Foundation
import TensorKernels

/// PyTorch-made golden fixtures (`training/scripts/make_parity_fixtures.py`; see Fixtures/README.md).
enum ParityFixtures {
    static func url(_ name: String, _ ext: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: ext)!
    }

    /// The fixture model's weights: F16 random init with randomized BatchNorm statistics.
    static var weightsURL: URL { url("parity_weights_f16", "safetensors") }

    /// Inputs, outputs and per-block slices computed by PyTorch from exactly those weights.
    static let io: SafetensorsFile = try! SafetensorsFile(contentsOf: url("parity_io", "safetensors"))

    static func tensor(_ name: String) -> Tensor { io.tensors[name]! }
}
