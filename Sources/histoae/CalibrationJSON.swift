import AutoencoderModel
import Foundation
import Scoring

/// The calibration block as `model.json` holds it, in Python's number and key conventions
/// (`stats.calibration_block`: the same keys in the same order, floats as floats, counts as integers), so that
/// `stats.calibration_digest` of the block a Swift calibration wrote is the digest in its version. The layout
/// itself is Scoring's: `Calibration`'s `Encodable` conformance, kept in order by ``OrderedJSONEncoder``.
///
/// ```swift
/// let block = try CalibrationJSON.block(calibration)
/// CalibrationJSON.version(after: "1.2.0", block: block)     // "1.2.0+cal.<8 hex>", like bump_version(mode="cal")
/// ```
enum CalibrationJSON {
    /// - Throws: `EncodingError` for a non-finite number (a validated calibration has none).
    static func block(_ c: Calibration) throws -> OrderedJSON {
        try OrderedJSONEncoder().encode(c)
    }

    /// `stats.calibration_digest`: sha256 (hex) of the block's canonical JSON.
    static func digest(_ block: OrderedJSON) -> String {
        SHA256.hex(Data(PythonJSON.canonical(block).utf8))
    }

    /// `X.Y.Z+cal.<first 8 hex of the digest>` from a semantic version `X.Y.Z[-pre][+build]` (calibrate.py
    /// `bump_version(mode="cal")`: the pre-release and build parts are dropped); nil when `version` is not one.
    static func version(after version: String, block: OrderedJSON) -> String? {
        guard let core = SemanticVersion.core(of: version) else { return nil }
        return "\(core)+cal.\(digest(block).prefix(8))"
    }
}

/// Semantic versions as calibrate.py reads them: `X.Y.Z`, optionally `-pre` and `+build` of `[0-9A-Za-z.-]`.
enum SemanticVersion {
    /// `X.Y.Z` of a valid version, else nil.
    static func core(of version: String) -> String? {
        guard isValid(version) else { return nil }
        return String(version.prefix { $0 != "-" && $0 != "+" })
    }

    static func isValid(_ version: String) -> Bool {
        let scalars = Array(version.unicodeScalars)
        var i = 0
        for part in 0..<3 {
            let start = i
            while i < scalars.count, ("0"..."9").contains(scalars[i]) { i += 1 }
            guard i > start else { return false }
            if part < 2 {
                guard i < scalars.count, scalars[i] == "." else { return false }
                i += 1
            }
        }
        for marker: Unicode.Scalar in ["-", "+"] where i < scalars.count && scalars[i] == marker {
            i += 1
            let start = i
            while i < scalars.count, scalars[i].isASCII,
                  scalars[i].properties.isAlphabetic || ("0"..."9").contains(scalars[i]) || scalars[i] == "." || scalars[i] == "-" {
                i += 1
            }
            guard i > start else { return false }
        }
        return i == scalars.count
    }
}
