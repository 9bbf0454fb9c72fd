import ImageCodecs
import Scoring

/// How much a submission wants back for each patch.
public enum OutputDetail: Sendable, Equatable {
    /// The score only (``PatchOutcome/score``): the fast path.
    case score
    /// The score, the reconstruction and both error maps.
    case full
}

/// What the scheduler computed for one patch.
public struct PatchOutcome: Sendable {
    /// The calibrated verdict.
    public var score: PatchScore
    /// With ``OutputDetail/full``: the reconstruction `(3, 150, 150)` in the normalized [−1, 1] space.
    public var reconstruction: [Float]?
    /// With ``OutputDetail/full``: the per-pixel squared-error, absolute-error and SSIM maps, `(150, 150)` each.
    public var maps: ErrorMapSet?
}

/// The result of one submission: one outcome per patch, in submission order, and where the time went.
public struct BatchOutcome: Sendable {
    public var patches: [PatchOutcome]
    /// Longest time one of the patches waited in the queue.
    public var queueSeconds: Double
    /// Longest forward pass + scoring of a batch that held one of the patches.
    public var inferenceSeconds: Double
}
