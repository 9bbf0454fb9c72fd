import Foundation
import ImageCodecs

/// Optical density of 8-bit RGB (Beer–Lambert: how much light the stain absorbs): `od = −log10((u + 1)/256)`
/// per channel, `u` 0…255, so white (255) is 0 and black (0) is log10(256) ≈ 2.41. The 256 values are computed
/// once (float64, like stats.py); a pixel is then three table reads.
///
/// ```swift
/// OpticalDensity.table[255]          // 0: white glass absorbs nothing
/// OpticalDensity.isStained(r: 120, g: 60, b: 160)   // od_R + od_G + od_B > 0.15
/// ```
public enum OpticalDensity {
    /// `table[u] = −log10((u + 1)/256)`.
    public static let table: [Double] = (0..<256).map { -log10((Double($0) + 1) / 256) }

    /// Pixels whose summed optical density `od_R + od_G + od_B` exceeds this count as stained (stats.py
    /// `STAIN_MIN_OD`): the stain plane is fitted on them; glass and faint haze stay out.
    public static let stainMinimum = 0.15

    /// The stain residual divides by `max(|od|, residualFloor)` (stats.py `STAIN_OD_FLOOR`): a pixel's share
    /// of optical density off the H&E plane, so dense nuclei and faint cytoplasm weigh alike, without the noisy
    /// directions of near-white pixels. A calibration block records it as `stain_plane.od_floor`.
    public static let residualFloor = 0.3

    /// `(od_R + od_G + od_B) > stainMinimum`, summed in that order (numpy's `od.sum(axis=-1)`).
    @inline(__always) public static func isStained(r: UInt8, g: UInt8, b: UInt8) -> Bool {
        table[Int(r)] + table[Int(g)] + table[Int(b)] > stainMinimum
    }
}
