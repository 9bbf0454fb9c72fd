import AutoencoderModel
import Foundation
import ImageCodecs
import InferenceService
import Scoring

/// The two passes of `histoae calibrate` over patch files (docs/scoring.md, "Calibration"):
///
/// 1. ``fitStainPlane(_:limits:)`` decodes every file once and sums its stained pixels into the scatter the
///    stain plane is fitted on — no model involved; files that cannot be used are reported and left out;
/// 2. ``statistics(of:plane:)`` decodes the usable files again, `batch` at a time, runs them through the
///    engine (the one every command uses) and measures each patch's eight statistics against the plane.
///
/// Memory stays flat whatever the number of patches: a batch of decoded images and reconstructions at a time,
/// then eight numbers per patch — re-decoding costs far less than the forward pass it precedes.
///
/// ```swift
/// let fit = CalibrationPasses.fitStainPlane(InputFile.expand(paths), limits: DecodeLimits())
/// let plane = try fit.scatter.plane()
/// let statistics = try CalibrationPasses(engine: engine, batch: 8, limits: DecodeLimits())
///     .statistics(of: fit.usable, plane: plane)
/// ```
struct CalibrationPasses {
    let engine: InferenceEngine
    let batch: Int
    let limits: DecodeLimits

    struct PlaneFit {
        /// The files that decoded as 150 × 150 patches, in input order.
        var usable: [InputFile] = []
        var scatter = StainScatter()
        /// Files reported on stderr and left out.
        var skipped = 0
    }

    /// Pass 1. One stderr line per file left out (missing, unreadable, not a 150 × 150 PNG/JPEG).
    static func fitStainPlane(_ files: [InputFile], limits: DecodeLimits) -> PlaneFit {
        var fit = PlaneFit()
        for file in files {
            switch decode(file, limits: limits) {
            case .success(let image):
                fit.scatter.add(image)
                fit.usable.append(file)
            case .failure(let problem):
                FileHandle.standardError.write(Data("\(file.path): \(problem.message), skipped\n".utf8))
                fit.skipped += 1
            }
        }
        return fit
    }

    /// Pass 2: each usable patch's statistics, in order.
    /// - Throws: ``CLIError`` when a file no longer decodes (it changed since pass 1), the engine fails, or a
    ///   patch's statistics are not finite.
    func statistics(of files: [InputFile], plane: StainPlane) throws -> [PatchStatistics] {
        let side = CNNAutoencoder3.inputSize
        let input = UnsafeMutablePointer<Float>.allocate(capacity: 3 * side * side)
        defer { input.deallocate() }
        let workspace = ScoringWorkspace(width: side, height: side)
        var statistics: [PatchStatistics] = []
        statistics.reserveCapacity(files.count)
        for start in stride(from: 0, to: files.count, by: batch) {
            let chunk = files[start..<min(start + batch, files.count)]
            let images = try chunk.map { file in
                switch Self.decode(file, limits: limits) {
                case .success(let image): return image
                case .failure(let problem): throw CLIError("\(file.path): \(problem.message) (it decoded in the first pass: did it change?)")
                }
            }
            let outcome: BatchOutcome
            switch engine.run(inputs: images.map(PatchInput.image), detail: .reconstruction) {
            case .success(let value): outcome = value
            case .failure(let error): throw CLIError(error.description)
            }
            for (index, (file, image)) in zip(chunk, images).enumerated() {
                guard let reconstruction = outcome.patches[index].reconstruction else {
                    throw CLIError("\(file.path): the engine returned no reconstruction")
                }
                Normalization.normalize(image, into: input)
                let s = reconstruction.withUnsafeBufferPointer {
                    PatchStatistics.compute(input: input, reconstruction: $0.baseAddress!, image: image, workspace: workspace,
                                            stainNormal: plane.normalVector)
                }
                guard s.isFinite else { throw CLIError("\(file.path): \(ScoringError.nonFiniteStatistics.description)") }
                statistics.append(s)
            }
        }
        return statistics
    }

    struct Problem: Error { let message: String }

    static func decode(_ file: InputFile, limits: DecodeLimits) -> Result<RGBImage, Problem> {
        guard !file.missing else { return .failure(Problem(message: "no such file or folder")) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file.path)) } catch {
            return .failure(Problem(message: "cannot read file: \(error.localizedDescription)"))
        }
        do { return .success(try PatchDecoding.decode([UInt8](data), limits: limits)) } catch {
            return .failure(Problem(message: error.description))
        }
    }
}
