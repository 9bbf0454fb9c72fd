import Foundation

/// The calibration block's JSON: decoded leniently about key order, encoded in the spec's order
/// (`source`, `patches`, `quantile_levels`, `statistics` in `STATISTIC_NAMES` order, `stain_plane`, `methods`
/// in ``ScoreMethod`` order) — Swift dictionaries have no stable order, so the maps are written key by key.
///
/// ```swift
/// let encoder = JSONEncoder()
/// encoder.outputFormatting = .prettyPrinted
/// let block = try encoder.encode(calibration)      // ready for model.json's "calibration"
/// ```
extension Calibration {
    enum CodingKeys: String, CodingKey {
        case source, patches
        case quantileLevels = "quantile_levels"
        case statistics
        case stainPlane = "stain_plane"
        case methods
    }

    /// - Throws: ``OutdatedCalibrationBlock`` for a block without `stain_plane` or a `stain_p99` statistic
    ///   (scoring v1); `DecodingError` for anything else malformed. Missing `methods` decode as none, for
    ///   ``validate()`` to name them.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard c.contains(.stainPlane) else { throw OutdatedCalibrationBlock() }
        let source = try c.decode(String.self, forKey: .source), patches = try c.decode(Int.self, forKey: .patches)
        let levels = try c.decode([Double].self, forKey: .quantileLevels)
        let statistics = try c.decode([String: StatisticCalibration].self, forKey: .statistics)
        guard statistics[Statistic.stainP99.rawValue] != nil else { throw OutdatedCalibrationBlock() }
        self.init(source: source, patches: patches, quantileLevels: levels, statistics: statistics,
                  stainPlane: try c.decode(StainPlane.self, forKey: .stainPlane),
                  methods: try c.decodeIfPresent([String: MethodCalibration].self, forKey: .methods) ?? [:])
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        try c.encode(patches, forKey: .patches)
        try c.encode(quantileLevels, forKey: .quantileLevels)
        var s = c.nestedContainer(keyedBy: NameKey.self, forKey: .statistics)
        for name in Self.ordered(statistics.keys, Statistic.allCases.map(\.rawValue)) {
            try s.encode(statistics[name], forKey: NameKey(name))
        }
        try c.encode(stainPlane, forKey: .stainPlane)
        var m = c.nestedContainer(keyedBy: NameKey.self, forKey: .methods)
        for name in Self.ordered(methods.keys, ScoreMethod.allCases.map(\.rawValue)) {
            try m.encode(methods[name], forKey: NameKey(name))
        }
    }

    /// The known names first, in their order, then any others sorted.
    private static func ordered(_ keys: Dictionary<String, some Any>.Keys, _ known: [String]) -> [String] {
        known.filter(keys.contains) + keys.filter { !known.contains($0) }.sorted()
    }
}

/// A block written before scoring v2: it has no stain plane and no method tails, so it cannot score.
public struct OutdatedCalibrationBlock: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { ScoringError.outdatedCalibration.description }
}

/// A JSON object key that is a name (statistic or method).
struct NameKey: CodingKey {
    let stringValue: String
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}
