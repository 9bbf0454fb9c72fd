import AutoencoderModel
import Foundation
import Scoring

/// The calibration block as `model.json` holds it, written with Python's number and key conventions
/// (`stats.calibration_block`: the same keys in the same order, floats as floats, counts as integers), so that
/// `stats.calibration_digest` of the block a Swift calibration wrote is the digest in its version.
///
/// ```swift
/// let block = CalibrationJSON.block(calibration)
/// CalibrationJSON.version(after: "1.2.0", block: block)     // "1.2.0+cal.<8 hex>", like bump_version(mode="cal")
/// ```
enum CalibrationJSON {
    static func block(_ c: Calibration) -> OrderedJSON {
        var statistics: [OrderedJSON.Member] = []
        for statistic in Statistic.allCases {
            let s = c[statistic]
            var fields: [OrderedJSON.Member] = [
                .init(key: "quantiles", value: floats(s.quantiles)),
                .init(key: "mean", value: .double(s.mean)),
                .init(key: "std", value: .double(s.std)),
            ]
            if let transform = s.logTransform, let mean = s.logMean, let std = s.logStd {
                fields += [.init(key: "log_transform", value: .string(transform)),
                           .init(key: "log_mean", value: .double(mean)), .init(key: "log_std", value: .double(std))]
            }
            statistics.append(.init(key: statistic.rawValue, value: .object(fields)))
        }
        let plane = c.stainPlane
        let methods = ScoreMethod.allCases.map { method -> OrderedJSON.Member in
            let m = c[method]
            let tail: OrderedJSON = .object([
                .init(key: "level", value: .double(m.tail.level)), .init(key: "start", value: .double(m.tail.start)),
                .init(key: "scale", value: .double(m.tail.scale)), .init(key: "exceedances", value: .int(m.tail.exceedances)),
            ])
            return .init(key: method.rawValue, value: .object([.init(key: "quantiles", value: floats(m.quantiles)),
                                                               .init(key: "tail", value: tail)]))
        }
        return .object([
            .init(key: "source", value: .string(c.source)),
            .init(key: "patches", value: .int(c.patches)),
            .init(key: "quantile_levels", value: floats(c.quantileLevels)),
            .init(key: "statistics", value: .object(statistics)),
            .init(key: "stain_plane", value: .object([.init(key: "normal", value: floats(plane.normal)),
                                                      .init(key: "pixels", value: .int(plane.pixels)),
                                                      .init(key: "min_od", value: .double(plane.minOD))])),
            .init(key: "methods", value: .object(methods)),
        ])
    }

    private static func floats(_ values: [Double]) -> OrderedJSON { .array(values.map(OrderedJSON.double)) }

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
