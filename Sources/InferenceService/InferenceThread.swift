import AutoencoderModel
import Foundation
import ImageCodecs
import Scoring

/// One of the ``InferenceEngine``'s workers: takes the oldest queued patch, normalizes it (docs/model.md §3),
/// runs one forward pass and scores it. Owns all its buffers, so a patch allocates nothing but the outcome it
/// hands back. A lone patch on an idle engine runs its pass on every worker's core (``Workspace/threads``);
/// the answer is the same bits.
final class InferenceThread: @unchecked Sendable {
    private unowned let engine: InferenceEngine

    init(engine: InferenceEngine) {
        self.engine = engine
    }

    func run() {
        let side = CNNAutoencoder3.inputSize
        let per = 3 * side * side
        let workspace = Workspace(capacity: EngineConfiguration.imagesPerPass)
        let scoring = ScoringWorkspace(width: side, height: side)
        // (1, 3, 150, 150) normalized input and reconstruction.
        let input = UnsafeMutablePointer<Float>.allocate(capacity: per)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: per)
        defer { input.deallocate(); output.deallocate() }
        let model = engine.model, scorer = engine.scorer, metrics = engine.metrics

        var threads = 1
        while let patch = engine.nextPatch(threads: &threads) {
            workspace.threads = threads
            let started = DispatchTime.now().uptimeNanoseconds
            metrics.queueWait.recordNanoseconds(Int64(started &- patch.ticket.enqueuedAt))
            patch.input.normalize(into: input)
            model.forward(input: input, count: 1, output: output, workspace: workspace)
            var outcome = PatchOutcome()
            var failure: String?
            let detail = patch.ticket.detail
            if detail.scores, let scorer, case .image(let image) = patch.input {
                do {
                    let score = try scorer.score(input: input, reconstruction: output, image: image, workspace: scoring)
                    metrics.scores.record(score.score)
                    outcome.score = score
                    if detail == .full { outcome.maps = ErrorMapSet(scoring) }
                } catch {
                    failure = error.description
                }
            }
            if detail != .score { outcome.reconstruction = Array(UnsafeBufferPointer(start: output, count: per)) }
            let ended = DispatchTime.now().uptimeNanoseconds
            let seconds = Double(ended &- started) / 1e9
            metrics.inference.recordNanoseconds(Int64(ended &- started))
            if let failure {
                patch.ticket.fail(.scoring(failure))
            } else {
                metrics.patchesScored.increment()
                patch.ticket.complete(patch.index, with: outcome,
                                      queueSeconds: Double(started &- patch.ticket.enqueuedAt) / 1e9,
                                      inferenceSeconds: seconds)
            }
            engine.finished(seconds: seconds)
        }
        engine.workerExited()
    }
}
