import Foundation

/// The files a command was given: files as they are, a folder's files with the accepted extensions sorted by
/// name, and paths that do not exist (each command decides whether that is fatal).
struct InputFile {
    var path: String
    var missing: Bool

    /// Name stem for output files (`a/b/patch0.png` → `patch0`).
    var stem: String { URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    static func expand(_ paths: [String], extensions: Set<String> = imageExtensions) -> [InputFile] {
        var files: [InputFile] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                files.append(InputFile(path: path, missing: true))
                continue
            }
            guard isFolder.boolValue else { files.append(InputFile(path: path, missing: false)); continue }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files += entries.sorted().filter { extensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
                .map { InputFile(path: URL(fileURLWithPath: path).appendingPathComponent($0).path, missing: false) }
        }
        return files
    }

    /// Disambiguates repeated names (`a`, `a_2`, …) so no output overwrites another.
    static func uniqued(_ names: [String]) -> [String] {
        var seen: [String: Int] = [:]
        return names.map { name in
            seen[name, default: 0] += 1
            return seen[name]! == 1 ? name : "\(name)_\(seen[name]!)"
        }
    }
}
