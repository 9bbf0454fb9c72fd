import Foundation
import ImageCodecs

/// Builds a model card's ``Calibration`` block from normal patches — the same block, value for value, as
/// `histoae_training.stats.calibration_block` makes from the same per-patch statistics.
///
/// `stain_p99` is measured against the stain plane, which is fitted on all the calibration patches, so the
/// statistics need the plane before they can be complete. Two ways through:
///
/// * **Two passes** (memory: 8 numbers per patch): fit the plane on the 8-bit images first (no model needed),
///   then compute each patch's statistics with it.
///
///   ```swift
///   var scatter = StainScatter()
///   for image in images { scatter.add(image) }                       // pass 1: decode only
///   var builder = CalibrationBuilder(stainPlane: try scatter.plane())
///   for (image, x, xHat) in patches {                                // pass 2: through the model
///       try builder.add(image: image, input: x, reconstruction: xHat, workspace: workspace)
///   }
///   let block = try builder.build(source: "site A normals, 2026-11")
///   ```
///
/// * **One pass** (`CalibrationBuilder()`): each patch's error and quality statistics are computed at once and
///   its 8-bit image kept (67 KB at 150 × 150, no reconstruction), the plane fitted and `stain_p99` computed
///   in ``build(source:)``.
///
/// Per-patch statistics computed elsewhere (with the same plane) go in through ``add(_:)``.
public struct CalibrationBuilder {
    /// The plane `stain_p99` is measured against: given, or (one pass) fitted by ``build(source:)``.
    public let stainPlane: StainPlane?
    /// One pass: the stained pixels of every image added so far.
    public private(set) var scatter = StainScatter()
    /// Complete statistics, in the order added.
    private var complete: [PatchStatistics] = []
    /// One pass: patches waiting for the plane (their `stainP99` is not yet known).
    private var pending: [(image: RGBImage, statistics: PatchStatistics)] = []

    /// One pass: the plane is fitted on the patches added.
    public init() { stainPlane = nil }

    /// Second pass of two: statistics are measured against `stainPlane`.
    public init(stainPlane: StainPlane) { self.stainPlane = stainPlane }

    /// Patches added so far.
    public var count: Int { complete.count + pending.count }

    /// Adds one patch: its 8-bit `image`, and the normalized input and reconstruction `(3, H, W)` (float32,
    /// the engine's layout). Uses `workspace` (the image's size) for the maps.
    /// - Throws: ``ScoringError/calibrationInput(_:)`` when the statistics are not finite (NaN reconstruction).
    public mutating func add(image: RGBImage, input: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>,
                             workspace: ScoringWorkspace) throws(ScoringError) {
        if let stainPlane {
            try add(PatchStatistics.compute(input: input, reconstruction: reconstruction, image: image,
                                            workspace: workspace, stainNormal: stainPlane.normalVector))
            return
        }
        ErrorMaps.compute(input: input, reconstruction: reconstruction, workspace: workspace)
        let partial = PatchStatistics(errors: ErrorStatistics(workspace: workspace),
                                      quality: QualitySignals(image: image, workspace: workspace), stainP99: 0)
        guard partial.isFinite else { throw .calibrationInput("patch \(count + 1) has non-finite statistics") }
        scatter.add(image)
        pending.append((image, partial))
    }

    /// Adds one patch's complete statistics, `stain_p99` measured against ``stainPlane``.
    /// - Throws: ``ScoringError/calibrationInput(_:)`` for non-finite values, or on a one-pass builder (which
    ///   has no plane yet to have measured `stain_p99` against).
    public mutating func add(_ statistics: PatchStatistics) throws(ScoringError) {
        guard stainPlane != nil else {
            throw .calibrationInput("statistics need the stain plane: create the builder with CalibrationBuilder(stainPlane:)")
        }
        guard statistics.isFinite else { throw .calibrationInput("patch \(count + 1) has non-finite statistics") }
        complete.append(statistics)
    }

    /// The block: every statistic summarized, the stain plane, and each method's deviation distribution (the
    /// deviations measured with the block's own statistic fits).
    /// - Throws: ``ScoringError/tooFewCalibrationPatches(count:minimum:)`` below ``Calibration/minimumPatches``,
    ///   ``ScoringError/stainPlane(_:)`` when the plane cannot be fitted.
    public func build(source: String) throws(ScoringError) -> Calibration {
        guard count >= Calibration.minimumPatches else {
            throw .tooFewCalibrationPatches(count: count, minimum: Calibration.minimumPatches)
        }
        let plane: StainPlane
        if let stainPlane { plane = stainPlane } else { plane = try scatter.plane() }
        let patches = complete + Self.measureStain(pending, plane)
        let levels = Calibration.standardQuantileLevels
        var statistics: [String: StatisticCalibration] = [:]
        for statistic in Statistic.allCases {
            statistics[statistic.rawValue] = StatisticCalibration.summarize(patches.map { $0[statistic] }, of: statistic,
                                                                             levels: levels)
        }
        var calibration = Calibration(source: source, patches: patches.count, quantileLevels: levels,
                                      statistics: statistics, stainPlane: plane, methods: [:])
        let outcomes = patches.map { s in
            let z = calibration.deviations(of: s)
            return (z, SignalReadings.measure(s, deviations: z))
        }
        for method in ScoreMethod.allCases {
            let d = outcomes.map { method.evaluate(deviations: $0.0, signals: $0.1).rawDeviation }
            calibration.methods[method.rawValue] = MethodCalibration.fit(d, levels: levels)
        }
        try calibration.validate()
        return calibration
    }

    /// One pass: `stain_p99` of the kept images against the fitted plane.
    private static func measureStain(_ pending: [(image: RGBImage, statistics: PatchStatistics)],
                                     _ plane: StainPlane) -> [PatchStatistics] {
        var workspace: ScoringWorkspace?
        return pending.map { patch in
            if workspace?.width != patch.image.width || workspace?.height != patch.image.height {
                workspace = ScoringWorkspace(width: patch.image.width, height: patch.image.height)
            }
            var s = patch.statistics
            s.stainP99 = StainResidual.compute(image: patch.image, normal: plane.normalVector, workspace: workspace!)
            return s
        }
    }
}

extension StatisticCalibration {
    /// stats.py `summarize`: numpy `'linear'` quantiles at `levels`, mean and population std, and — where every
    /// argument (`x`, or `1 − x` for `ssim`) is > 0 — the mean and std of its log.
    /// - Precondition: `values` not empty.
    public static func summarize(_ values: [Double], of statistic: Statistic, levels: [Double]) -> StatisticCalibration {
        var out = StatisticCalibration(quantiles: NumpyReductions.quantiles(values, at: levels),
                                       mean: NumpyReductions.mean(values), std: NumpyReductions.std(values))
        let arguments = statistic.isSimilarity ? values.map { 1 - $0 } : values
        if arguments.allSatisfy({ $0 > 0 }) {
            let logs = arguments.map { Foundation.log($0) }
            out.logTransform = statistic.isSimilarity ? "log(1 - x)" : "log(x)"
            out.logMean = NumpyReductions.mean(logs)
            out.logStd = NumpyReductions.std(logs)
        }
        return out
    }
}
