import Foundation

/// The CPU as Linux describes it in /proc/cpuinfo — its model name and feature flags — read in one place for the
/// kernels' choices (``BLAS/cpuFlags()``) and for naming the machine (`histoae machine`, the benchmarks).
///
/// ```swift
/// let cpu = CPUInfo.current          // model "AMD EPYC …", flags ["avx2", "avx512f", …]
/// cpu.flags.contains("avx512_bf16")
/// ```
public struct CPUInfo: Sendable, Equatable {
    /// The first processor's `model name` ("unknown" where there is none).
    public var model: String
    /// The first processor's `flags` (empty where there are none).
    public var flags: Set<String>

    /// This machine's (empty where /proc/cpuinfo does not exist).
    public static var current: CPUInfo {
        parse((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
    }

    /// The model name and flags of the first processor described in `text` (the /proc/cpuinfo format).
    public static func parse(_ text: String) -> CPUInfo {
        func value(_ key: String) -> Substring? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
                  let colon = line.firstIndex(of: ":") else { return nil }
            return line[line.index(after: colon)...]
        }
        let model = value("model name").map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let flags = value("flags").map { Set($0.split(separator: " ").map(String.init)) } ?? []
        return CPUInfo(model: model, flags: flags)
    }
}
