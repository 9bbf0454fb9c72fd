import Foundation
import ImageCodecs

/// The plane through the origin, in optical-density space, that a site's haematoxylin and eosin span — the
/// `stain_plane` of a calibration block. Ruifrok & Johnston's colour-deconvolution idea with the site's own
/// stain vectors: H&E pixels lie near the plane, ink, DAB and other dyes stand off it (the stain residual,
/// ``StainResidual``).
///
/// Fitted by ``StainScatter``: the unit eigenvector of `M = Σ od·odᵀ` (over the stained pixels of every
/// calibration patch) for its smallest eigenvalue, sign fixed so its largest-magnitude component is positive.
///
/// ```swift
/// var scatter = StainScatter()
/// for image in calibrationImages { scatter.add(image) }
/// let plane = try scatter.plane()          // throws below 1000 stained pixels
/// plane.normal                             // unit vector, OD units
/// ```
public struct StainPlane: Codable, Sendable, Equatable {
    /// Unit normal `[n_R, n_G, n_B]`.
    public var normal: [Double]
    /// How many pixels the fit used.
    public var pixels: Int
    /// The optical-density sum a pixel needed to count (``OpticalDensity/stainMinimum``).
    public var minOD: Double
    /// The floor of `|od|` the stain residual divides by (``OpticalDensity/residualFloor``); `nil` in blocks
    /// written before the relative residual (1.2.0 cards), which ``Calibration`` refuses as outdated.
    public var odFloor: Double?

    enum CodingKeys: String, CodingKey {
        case normal, pixels
        case minOD = "min_od"
        case odFloor = "od_floor"
    }

    /// Fewer qualifying pixels than this cannot pin a plane down (stats.py refuses too).
    public static let minimumPixels = 1000

    public init(normal: [Double], pixels: Int, minOD: Double = OpticalDensity.stainMinimum,
                odFloor: Double? = OpticalDensity.residualFloor) {
        self.normal = normal; self.pixels = pixels; self.minOD = minOD; self.odFloor = odFloor
    }

    /// The normal as a vector, for ``StainResidual``. - Precondition: ``validate()`` passed.
    public var normalVector: SIMD3<Double> { SIMD3(normal[0], normal[1], normal[2]) }

    /// The plane of a scatter matrix `M` (3 × 3, symmetric) of `pixels` stained pixels.
    /// - Throws: ``ScoringError/stainPlane(_:)`` below ``minimumPixels`` pixels or for a non-finite matrix.
    public static func fit(scatter m: [[Double]], pixels: Int) throws(ScoringError) -> StainPlane {
        guard pixels >= minimumPixels else {
            throw .stainPlane("only \(pixels) pixels have optical density above \(OpticalDensity.stainMinimum); "
                + "the stain plane needs at least \(minimumPixels) (calibrate on tissue patches, not glass)")
        }
        guard m.count == 3, m.allSatisfy({ $0.count == 3 && $0.allSatisfy(\.isFinite) }) else {
            throw .stainPlane("the optical-density scatter matrix is not a finite 3 × 3 matrix")
        }
        var normal = SymmetricEigen3(m).vectors[0]
        // Sign convention of stats.py: the component of largest magnitude positive (ties: the first).
        var largest = 0
        for i in 1..<3 where abs(normal[i]) > abs(normal[largest]) { largest = i }
        if normal[largest] < 0 { normal = normal.map { -$0 } }
        return StainPlane(normal: normal, pixels: pixels)
    }

    /// A plane scoring can use: three finite components of unit length (to 1e-6), at least
    /// ``minimumPixels`` pixels, a finite non-negative `min_od`; an `od_floor` other than this HistoAE's
    /// ``OpticalDensity/residualFloor`` (absent in 1.2.0 cards) means the block's `stain_p99` and `sharpness`
    /// tables measured other statistics: ``ScoringError/outdatedCalibration``.
    public func validate() throws(ScoringError) {
        guard normal.count == 3, normal.allSatisfy(\.isFinite),
              abs(normal.reduce(0) { $0 + $1 * $1 } - 1) <= 1e-6 else {
            throw .invalidCalibration("stain_plane.normal must be a unit vector of 3 finite components")
        }
        guard pixels >= Self.minimumPixels else {
            throw .invalidCalibration("stain_plane.pixels is \(pixels), below the minimum \(Self.minimumPixels)")
        }
        guard minOD.isFinite, minOD >= 0 else { throw .invalidCalibration("stain_plane.min_od must be finite, ≥ 0") }
        guard odFloor == OpticalDensity.residualFloor else { throw .outdatedCalibration }
    }
}
