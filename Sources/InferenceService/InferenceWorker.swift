import AutoencoderModel
import Foundation
import ImageCodecs
import Scoring

/// One inference thread: takes batches from its ``BatchScheduler``, normalizes them (docs/model.md §3), runs the
/// forward pass in chunks of ``chunk`` images and scores every patch. Owns all its buffers, so a batch
/// allocates nothing but the outcomes it hands back. A lone patch on an otherwise idle server runs its pass
/// on every core (``Workspace/threads``); the answer is the same bits.
final class InferenceWorker: @unchecked Sendable {
    /// Images per forward pass. One: the GEMMs then see the same shapes whatever the batch, so a patch's
    /// result is bit-identical alone or in a batch of 16.
    static let chunk = 1

    private unowned let scheduler: BatchScheduler
    private let maxBatch: Int

    init(scheduler: BatchScheduler, maxBatch: Int) {
        self.scheduler = scheduler
        self.maxBatch = maxBatch
    }

    func run() {
        let side = CNNAutoencoder3.inputSize
        let per = 3 * side * side
        let workspace = Workspace(capacity: Self.chunk)
        let scoring = ScoringWorkspace(width: side, height: side)
        // (maxBatch, 3, 150, 150) normalized input and reconstruction.
        let input = UnsafeMutablePointer<Float>.allocate(capacity: maxBatch * per)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: maxBatch * per)
        defer { input.deallocate(); output.deallocate() }
        var batch: [QueuedPatch] = []
        batch.reserveCapacity(maxBatch)
        let model = scheduler.model, scorer = scheduler.scorer, metrics = scheduler.metrics

        var threads = 1
        while scheduler.nextBatch(into: &batch, threads: &threads) {
            workspace.threads = threads
            let started = DispatchTime.now().uptimeNanoseconds
            for (slot, patch) in batch.enumerated() {
                Normalization.normalize(patch.image, into: input + slot * per)
                metrics.queueWait.recordNanoseconds(Int64(started &- patch.ticket.enqueuedAt))
            }
            var first = 0
            while first < batch.count {
                let n = min(Self.chunk, batch.count - first)
                model.forward(input: input + first * per, count: n, output: output + first * per, workspace: workspace)
                first += n
            }
            var outcomes: [PatchOutcome?] = Array(repeating: nil, count: batch.count)
            var failures: [(Int, String)] = []
            for (slot, patch) in batch.enumerated() {
                let x = input + slot * per, xHat = output + slot * per
                do {
                    let score = try scorer.score(input: x, reconstruction: xHat, image: patch.image, workspace: scoring)
                    metrics.scores.record(score.score)
                    var outcome = PatchOutcome(score: score)
                    if patch.ticket.detail == .full {
                        outcome.reconstruction = Array(UnsafeBufferPointer(start: xHat, count: per))
                        outcome.maps = ErrorMapSet(scoring)
                    }
                    outcomes[slot] = outcome
                } catch {
                    failures.append((slot, error.description))
                }
            }
            let ended = DispatchTime.now().uptimeNanoseconds
            let seconds = Double(ended &- started) / 1e9
            metrics.batchSize.record(batch.count)
            metrics.inference.recordNanoseconds(Int64(ended &- started))
            metrics.patchesScored.increment(by: batch.count - failures.count)
            for (slot, message) in failures { batch[slot].ticket.fail(.scoring(message)) }
            for (slot, patch) in batch.enumerated() {
                guard let outcome = outcomes[slot] else { continue }
                patch.ticket.complete(patch.index, with: outcome,
                                      queueSeconds: Double(started &- patch.ticket.enqueuedAt) / 1e9,
                                      inferenceSeconds: seconds)
            }
            batch.removeAll(keepingCapacity: true)
            scheduler.finished(count: outcomes.count, seconds: seconds)
        }
        scheduler.workerExited()
    }
}
