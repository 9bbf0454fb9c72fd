import AutoencoderModel
import Scoring

/// The model as the Open Inference Protocol describes it (model metadata): its name and version from the model
/// card, and its tensors. docs/open-inference.md lists them; every transport (REST, gRPC) answers from here.
///
/// A request gives exactly one of the two inputs: ``image`` (RGB pixels, scored like `/v1/score`) or ``input``
/// (already normalized, docs/model.md §3: reconstructed only, as the quality signals read pixels).
public struct ModelSignature: Sendable {
    public enum InputName: String, Sendable, CaseIterable {
        /// UINT8 `(N, 150, 150, 3)`: RGB pixels, row-major, as a PNG decodes.
        case image
        /// FP32 `(N, 3, 150, 150)`: normalized to [−1, 1] (docs/model.md §3).
        case input
    }

    public enum OutputName: String, Sendable, CaseIterable {
        /// FP32 `(N, 3, 150, 150)`: the reconstruction in the normalized space.
        case reconstruction
        /// FP64 `(N)`: the calibrated score in [0, 1).
        case score
        /// BYTES `(N)`: `normal`, `anomalous` or `not_tissue`.
        case verdict
        /// FP64 `(N, K)`: the raw statistics, in ``ModelSignature/statisticNames`` order.
        case statistics
        /// FP32 `(N, 150, 150)`: per-pixel `mean_c (x − x̂)²`, normalized space.
        case mseMap = "mse_map"
        /// FP32 `(N, 150, 150)`: per-pixel SSIM.
        case ssimMap = "ssim_map"

        /// Needs the patch's pixels (the `image` input): everything but the reconstruction.
        public var needsPixels: Bool { self != .reconstruction }
        /// Computed by a full pass (reconstruction kept, maps filled), not the score-only fast path.
        var needsFullPass: Bool { self == .reconstruction || self == .mseMap || self == .ssimMap }
    }

    public let model: ModelIdentity
    /// The arithmetic the model runs in (the engine's ``InferenceService/InferenceEngine/precision``): every
    /// inference response names it in its `parameters` (`"precision": "bf16"`).
    public let precision: ModelPrecision
    /// The protocol's `platform`: what runs the model.
    public static let platform = "histoae_cnn_autoencoder_3"
    public static let side = CNNAutoencoder3.inputSize
    /// The names of the `statistics` output's columns, in order.
    public static let statisticNames = Statistic.allCases.map(\.rawValue)

    public init(model: ModelIdentity, precision: ModelPrecision) {
        self.model = model
        self.precision = precision
    }

    public var name: String { model.name }
    public var version: String { model.version }

    /// Whether `name` (and `version`, when given) name this model.
    public func matches(name: String, version: String?) -> Bool {
        name == model.name && (version == nil || version == "" || version == model.version)
    }

    /// The refusal for a model name or version this service does not serve.
    public func notFound(name: String, version: String?) -> InferenceError {
        if name == model.name, let version {
            return InferenceError(.notFound, "model '\(name)' has no version '\(version)'; this server serves version '\(model.version)'")
        }
        return InferenceError(.notFound, "unknown model '\(name)'; this server serves '\(model.name)' (version '\(model.version)')")
    }

    /// One tensor of the metadata; `-1` is the batch dimension.
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let datatype: TensorDatatype
        public let shape: [Int]
    }

    public static func input(_ name: InputName) -> Tensor {
        switch name {
        case .image: Tensor(name: name.rawValue, datatype: .uint8, shape: [-1, side, side, 3])
        case .input: Tensor(name: name.rawValue, datatype: .fp32, shape: [-1, 3, side, side])
        }
    }

    public static func output(_ name: OutputName) -> Tensor {
        switch name {
        case .reconstruction: Tensor(name: name.rawValue, datatype: .fp32, shape: [-1, 3, side, side])
        case .score: Tensor(name: name.rawValue, datatype: .fp64, shape: [-1])
        case .verdict: Tensor(name: name.rawValue, datatype: .bytes, shape: [-1])
        case .statistics: Tensor(name: name.rawValue, datatype: .fp64, shape: [-1, statisticNames.count])
        case .mseMap, .ssimMap: Tensor(name: name.rawValue, datatype: .fp32, shape: [-1, side, side])
        }
    }

    public static var inputs: [Tensor] { InputName.allCases.map(input) }
    public static var outputs: [Tensor] { OutputName.allCases.map(output) }
}
