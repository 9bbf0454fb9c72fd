import AutoencoderModel
import ImageCodecs
import Scoring

/// One patch handed to the engine: a decoded 150×150 image, or an input already normalized to the model's
/// [−1, 1] space (`(3, 150, 150)`, e.g. from a `.npy` file), which can be reconstructed but not scored (the
/// quality signals read the RGB pixels).
public enum PatchInput: Sendable {
    case image(RGBImage)
    /// `(3, 150, 150)` floats, channel-major.
    case normalized([Float])

    /// Writes the model's `(3, 150, 150)` input for this patch into `input`: the image normalized (docs/model.md §3),
    /// or the values as given (at most ``PatchArrays/patchCount`` of them).
    public func normalize(into input: UnsafeMutablePointer<Float>) {
        switch self {
        case .image(let image): Normalization.normalize(image, into: input)
        case .normalized(let values):
            values.withUnsafeBufferPointer { input.update(from: $0.baseAddress!, count: min(PatchArrays.patchCount, $0.count)) }
        }
    }
}

/// How much a request wants back for each patch.
public enum OutputDetail: Sendable, Equatable {
    /// The score only (``PatchOutcome/score``): the fast path.
    case score
    /// The score, the reconstruction and both error maps.
    case full
    /// The reconstruction only: no scoring, so no calibrated card is needed.
    case reconstruction

    var scores: Bool { self != .reconstruction }
}

/// What the engine computed for one patch.
public struct PatchOutcome: Sendable {
    /// The calibrated verdict (``OutputDetail/score`` and ``OutputDetail/full``).
    public var score: PatchScore?
    /// With ``OutputDetail/full`` or ``OutputDetail/reconstruction``: the reconstruction `(3, 150, 150)` in the
    /// normalized [−1, 1] space.
    public var reconstruction: [Float]?
    /// With ``OutputDetail/full``: the per-pixel squared-error, absolute-error and SSIM maps, `(150, 150)` each.
    public var maps: ErrorMapSet?

    /// The score of a request that asked for one.
    public func requireScore() throws(ServiceError) -> PatchScore {
        guard let score else { throw .scoring("the patch was not scored") }
        return score
    }
}

/// The result of one request: one outcome per patch, in submission order, and where the time went.
public struct BatchOutcome: Sendable {
    public var patches: [PatchOutcome]
    /// Longest time one of the patches waited in the queue.
    public var queueSeconds: Double
    /// Longest pass (forward + scoring) of one of the patches.
    public var inferenceSeconds: Double
}
