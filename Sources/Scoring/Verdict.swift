/// The one-word answer for a patch: JSON `"normal"`, `"anomalous"` or `"not_tissue"`.
///
/// * `not_tissue`: `tissue_fraction < 0.10` — glass or background, whatever the score;
/// * `anomalous`: tissue, and `score ≥ threshold` (its exceedance is at most the false-positive rate);
/// * `normal`: otherwise.
///
/// ```swift
/// Verdict(tissueFraction: 0.93, score: 0.997, threshold: 0.99)    // .anomalous
/// Verdict(tissueFraction: 0.02, score: 0.2, threshold: 0.99)      // .notTissue
/// ```
public enum Verdict: String, Codable, Sendable, CaseIterable {
    case normal
    case anomalous
    case notTissue = "not_tissue"

    /// An absolute rule, not calibrated (stats.py `NOT_TISSUE_MAX_FRACTION`): glass carries almost no stained
    /// pixels (blank sets: tissue fraction ≤ 0.035 at their 99th percentile), while adipose tissue (large clear
    /// cells, thin membranes) has 0.16–0.40 — a calibrated test (z ≤ −3 against normals with ≥ 0.5 tissue)
    /// called every adipose patch background.
    public static let notTissueMaxFraction = 0.10

    public init(tissueFraction: Double, score: Double, threshold: Double) {
        if tissueFraction < Self.notTissueMaxFraction {
            self = .notTissue
        } else {
            self = score >= threshold ? .anomalous : .normal
        }
    }
}
