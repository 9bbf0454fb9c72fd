import Foundation
import Scoring
import TensorKernels

/// Hostile edits of a calibration block for ``HostileCalibrationTests``: on its JSON tree of plain values
/// (``tree(of:)``), generic (drop any key, replace any leaf, resize any array) and aimed at what
/// validation must catch (decreasing quantiles, unordered levels, tables spanning the whole `Double` range,
/// bad stain normals, bad tails, missing statistics or methods); and on the serialized bytes.
///
/// ```swift
/// let block = JSONMutator.tree(of: calibration)
/// var tree: Any = block, rng = SplitMix64(seed: 1)
/// let what = JSONMutator.mutate(&tree, shape: JSONMutator.Shape(of: block), using: &rng)
/// // what: e.g. "methods.combined.tail.scale = 0.0"
/// let mutant = JSONMutator.serialize(tree)               // for Calibration(json:)
/// ```
enum JSONMutator {
    enum Step: CustomStringConvertible {
        case key(String), index(Int)
        var description: String {
            switch self {
            case .key(let k): k
            case .index(let i): "[\(i)]"
            }
        }
    }

    static let statistics = ["mse", "l1", "ssim", "mse_p99", "dssim_p99", "tissue_fraction", "sharpness", "stain_p99"]
    static let methods = ["signals", "combined", "one_sided_dssim", "two_sided_log_ssim", "two_sided_log_dssim"]
    static let huge = Double.greatestFiniteMagnitude

    /// Values a hostile card may put anywhere.
    static var hostileValues: [Any] { [
        0.0, -1.0, -1e-300, 1e-300, 5e-324, 1e300, -1e300, huge, -huge, 0.5, 1.0, 2.0, 0.9, -0.1, 1.1, 1e-7,
        "NaN", "Infinity", "-Infinity", "x", NSNull(), true, [Any](), [String: Any](),
    ] }

    private enum Kind: CaseIterable {
        case dropKey, replaceLeaf, resizeArray, reverseTable, unorderLevels, extremeSpan, stainNormal, tail,
             dropEntry, logFit
    }

    /// The paths of an original tree's objects, arrays and leaves, for generic mutations of trees derived from
    /// it (walking each mutant again would dominate the run; a path a mutation removed is simply skipped).
    struct Shape {
        var objects: [[Step]] = [], arrays: [[Step]] = [], leaves: [[Step]] = []

        init(of tree: Any) {
            for (path, value) in JSONMutator.entries(in: tree) {
                if value is [String: Any] { objects.append(path) } else if value is [Any] { arrays.append(path) } else {
                    leaves.append(path)
                }
            }
        }
    }

    /// Applies one random mutation to `tree`, a mutant of the tree `shape` was taken of; returns what it did.
    static func mutate(_ tree: inout Any, shape: Shape, using rng: inout SplitMix64) -> String {
        let tables = statistics.map { [Step.key("statistics"), .key($0), .key("quantiles")] }
            + methods.map { [Step.key("methods"), .key($0), .key("quantiles")] }
        switch Kind.allCases.randomElement(using: &rng)! {
        case .dropKey:
            let path = shape.objects.randomElement(using: &rng)!
            guard let key = (value(at: path, in: tree) as? [String: Any])?.keys.sorted().randomElement(using: &rng) else {
                return "nothing to drop"
            }
            tree = setting(nil, at: path + [.key(key)], in: tree)
            return "drop \(render(path + [.key(key)]))"
        case .replaceLeaf:
            let path = shape.leaves.randomElement(using: &rng)!
            let new = hostileValues.randomElement(using: &rng)!
            tree = setting(new, at: path, in: tree)
            return "\(render(path)) = \(new)"
        case .resizeArray:
            let path = shape.arrays.randomElement(using: &rng)!
            guard var array = value(at: path, in: tree) as? [Any] else { return "nothing to resize" }
            let change = Int.random(in: -4...4, using: &rng)
            if change < 0 { array.removeLast(min(-change, array.count)) } else if change > 0, let last = array.last {
                array += Array(repeating: last, count: change)
            } else { array = [] }
            tree = setting(array, at: path, in: tree)
            return "resize \(render(path)) by \(change) to \(array.count)"
        case .reverseTable:
            let path = tables.randomElement(using: &rng)!
            var table = value(at: path, in: tree) as? [Any] ?? []
            if Bool.random(using: &rng) { table.reverse() } else if table.count > 2 {
                let i = Int.random(in: 0..<(table.count - 1), using: &rng)
                table.swapAt(i, i + 1)
            }
            tree = setting(table, at: path, in: tree)
            return "reorder \(render(path))"
        case .unorderLevels:
            let path = [Step.key("quantile_levels")]
            var levels = value(at: path, in: tree) as? [Any] ?? []
            guard levels.count > 2 else { return "levels too short" }
            let i = Int.random(in: 0..<(levels.count - 1), using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: levels.swapAt(i, i + 1)
            case 1: levels[i + 1] = levels[i]
            default: levels[i] = [1.5, -0.5, 1.0, 0.0].randomElement(using: &rng)!
            }
            tree = setting(levels, at: path, in: tree)
            return "unorder levels at \(i)"
        case .extremeSpan:
            let path = tables.randomElement(using: &rng)!
            let count = (value(at: path, in: tree) as? [Any])?.count ?? 0
            let k = Int.random(in: 0...count, using: &rng)
            let table = (0..<count).map { $0 < k ? -huge : huge }
            tree = setting(table, at: path, in: tree)
            return "\(render(path)) = \(k)×−max then max"
        case .stainNormal:
            let normals: [[Any]] = [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0],
                                    [huge, huge, huge], [5e-324, 0.0, 0.0], ["NaN", 0.0, 1.0], [-1.0, 0.0, 0.0], [0.6, 0.8, 1e-7]]
            let normal = normals.randomElement(using: &rng)!
            tree = setting(normal, at: [.key("stain_plane"), .key("normal")], in: tree)
            return "stain_plane.normal = \(normal)"
        case .tail:
            let method = methods.randomElement(using: &rng)!
            let field = ["level", "start", "scale", "exceedances"].randomElement(using: &rng)!
            let new: Any = [0.0, -1.0, 5e-324, 1e-300, huge, -huge, 1.0, 1e6, -1e6, 0.999999, Int.max, -5]
                .randomElement(using: &rng)!
            tree = setting(new, at: [.key("methods"), .key(method), .key("tail"), .key(field)], in: tree)
            return "methods.\(method).tail.\(field) = \(new)"
        case .dropEntry:
            let path: [Step] = Bool.random(using: &rng)
                ? [.key("methods"), .key(methods.randomElement(using: &rng)!)]
                : [.key("statistics"), .key(statistics.randomElement(using: &rng)!)]
            tree = setting(nil, at: path, in: tree)
            return "drop \(render(path))"
        case .logFit:
            let statistic = statistics.randomElement(using: &rng)!
            let field = ["log_mean", "log_std", "mean", "std"].randomElement(using: &rng)!
            let new: Any? = [nil, 0.0, -1.0, 5e-324, huge, -huge, 1e-300].randomElement(using: &rng)!
            tree = setting(new, at: [.key("statistics"), .key(statistic), .key(field)], in: tree)
            return "statistics.\(statistic).\(field) = \(new.map { "\($0)" } ?? "dropped")"
        }
    }

    /// One byte-level mutation of serialized JSON: digit edits (which keep it JSON), flips, cuts, inserts.
    static func mutateBytes(_ original: [UInt8], using rng: inout SplitMix64) -> ([UInt8], String) {
        var bytes = original
        var what: [String] = []
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0:
                let digits = (0..<bytes.count).filter { (48...57).contains(bytes[$0]) }
                if let d = digits.randomElement(using: &rng) { bytes[d] = UInt8.random(in: 48...57, using: &rng) }
                what.append("digit")
            case 1:
                let digits = (0..<bytes.count).filter { (48...57).contains(bytes[$0]) }
                if let d = digits.randomElement(using: &rng) {
                    bytes.insert(contentsOf: Array(["e308", "e-320", "-", "0", "9999"].randomElement(using: &rng)!.utf8), at: d)
                }
                what.append("number edit")
            case 2: bytes[i] ^= UInt8.random(in: 1...255, using: &rng); what.append("flip@\(i)")
            case 3: bytes.removeSubrange(i..<min(bytes.count, i + Int.random(in: 1...64, using: &rng))); what.append("cut@\(i)")
            default: bytes.removeLast(bytes.count - i); what.append("truncate@\(i)")
            }
            if bytes.isEmpty { break }
        }
        return (bytes, what.joined(separator: ","))
    }

    // MARK: The tree

    /// A block as a tree of plain Swift values (`[String: Any]`, `[Any]`, `Double`, `Int`, `String`), written
    /// from the decoded struct: on Linux, `JSONSerialization` neither parses every Double exactly nor writes
    /// them fast (it goes through `Decimal`), and the fuzz wants the exact fixture, thousands of times.
    static func tree(of c: Calibration) -> [String: Any] {
        func statistic(_ s: StatisticCalibration) -> [String: Any] {
            var out: [String: Any] = ["quantiles": s.quantiles, "mean": s.mean, "std": s.std]
            if let t = s.logTransform { out["log_transform"] = t }
            if let m = s.logMean { out["log_mean"] = m }
            if let d = s.logStd { out["log_std"] = d }
            return out
        }
        func method(_ m: MethodCalibration) -> [String: Any] {
            ["quantiles": m.quantiles,
             "tail": ["level": m.tail.level, "start": m.tail.start, "scale": m.tail.scale,
                      "exceedances": m.tail.exceedances] as [String: Any]]
        }
        return ["source": c.source, "patches": c.patches, "quantile_levels": c.quantileLevels,
                "statistics": c.statistics.mapValues(statistic),
                "stain_plane": ["normal": c.stainPlane.normal, "pixels": c.stainPlane.pixels,
                                "min_od": c.stainPlane.minOD, "od_floor": c.stainPlane.odFloor as Any] as [String: Any],
                "methods": c.methods.mapValues(method)]
    }

    // MARK: Serializing

    /// JSON text of a tree of plain Swift values (``tree(of:)``, mutated): `Double`s in Swift's shortest
    /// round-tripping form, `Int`s as integers.
    static func serialize(_ tree: Any) -> Data {
        var out = ""
        func write(_ node: Any) {
            switch node {
            case let object as [String: Any]:
                out += "{"
                for (i, key) in object.keys.sorted().enumerated() {
                    if i > 0 { out += "," }
                    write(key); out += ":"; write(object[key]!)
                }
                out += "}"
            case let array as [Any]:
                out += "["
                for (i, element) in array.enumerated() {
                    if i > 0 { out += "," }
                    write(element)
                }
                out += "]"
            case let string as String:
                out += "\"" + string.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "\"", with: "\\\"") + "\""
            case is NSNull: out += "null"
            case let number as Double: out += "\(number)"
            case let number as Int: out += String(number)
            case let flag as Bool: out += flag ? "true" : "false"
            default: preconditionFailure("not a JSON value: \(node)")
            }
        }
        write(tree)
        return Data(out.utf8)
    }

    // MARK: Tree access

    static func render(_ path: [Step]) -> String { path.map(\.description).joined(separator: ".") }

    /// Every node of the tree (objects, arrays and leaves) with its path, root excluded, in key order.
    static func entries(in tree: Any) -> [(path: [Step], value: Any)] {
        var out: [(path: [Step], value: Any)] = []
        func walk(_ node: Any, _ prefix: [Step]) {
            if let object = node as? [String: Any] {
                for key in object.keys.sorted() { out.append((prefix + [.key(key)], object[key]!)); walk(object[key]!, prefix + [.key(key)]) }
            } else if let array = node as? [Any] {
                for (i, element) in array.enumerated() { out.append((prefix + [.index(i)], element)); walk(element, prefix + [.index(i)]) }
            }
        }
        walk(tree, [])
        return out
    }

    static func value(at path: [Step], in tree: Any) -> Any? {
        var node: Any? = tree
        for step in path {
            switch step {
            case .key(let k): node = (node as? [String: Any])?[k]
            case .index(let i): node = (node as? [Any]).flatMap { $0.indices.contains(i) ? $0[i] : nil }
            }
        }
        return node
    }

    /// The tree with the value at `path` replaced (`nil`: removed); missing parents are left alone.
    static func setting(_ new: Any?, at path: [Step], in tree: Any) -> Any {
        guard let step = path.first else { return new ?? tree }
        let rest = Array(path.dropFirst())
        switch step {
        case .key(let k):
            guard var object = tree as? [String: Any] else { return tree }
            if rest.isEmpty { object[k] = new } else if let child = object[k] { object[k] = setting(new, at: rest, in: child) }
            return object
        case .index(let i):
            guard var array = tree as? [Any], array.indices.contains(i) else { return tree }
            if rest.isEmpty {
                if let new { array[i] = new } else { array.remove(at: i) }
            } else { array[i] = setting(new, at: rest, in: array[i]) }
            return array
        }
    }
}
