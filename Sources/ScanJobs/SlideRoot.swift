import Foundation

/// The folder the operator lets clients scan slides from (`histoae serve --slide-root`), and the one way a
/// client's slide path becomes a file path: relative to the root, no `..` component, and — after every
/// symbolic link is resolved (realpath) — still inside the root. A link that stays inside is followed; one
/// that leads out is refused like `..` is.
///
/// ```swift
/// let root = try SlideRoot("/data/slides")
/// let path = try root.resolve("2024/case-17.svs")      // "/data/slides/2024/case-17.svs"
/// try root.resolve("../secret.svs")                    // throws .parentComponent
/// ```
public struct SlideRoot: Sendable {
    /// The root, resolved (absolute, no symbolic link).
    public let path: String

    /// Longest slide path a client may send, in bytes (Linux's PATH_MAX).
    public static let maxPathBytes = 4096

    /// - Throws: ``SlideRootError/unusableRoot(_:)`` when `path` is not an existing folder.
    public init(_ path: String) throws(SlideRootError) {
        guard let resolved = Self.realPath(path) else { throw .unusableRoot("\(path): no such folder") }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder), isFolder.boolValue else {
            throw .unusableRoot("\(path): not a folder")
        }
        self.path = resolved
    }

    /// The absolute, resolved path of the slide file `relative` names under the root.
    ///
    /// - Throws: ``SlideRootError``: empty, too long or with control characters; absolute; a `..` component;
    ///   a symbolic link leading out of the root; no such file; not a regular file.
    public func resolve(_ relative: String) throws(SlideRootError) -> String {
        guard !relative.isEmpty else { throw .invalid("slide must name a file under the slide root; it is empty") }
        guard relative.utf8.count <= Self.maxPathBytes else {
            throw .invalid("slide must be at most \(Self.maxPathBytes) bytes long, got \(relative.utf8.count)")
        }
        guard !relative.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid("slide must not contain control characters")
        }
        guard !relative.hasPrefix("/") else { throw .absolute(relative) }
        guard !relative.split(separator: "/", omittingEmptySubsequences: true).contains("..") else {
            throw .parentComponent(relative)
        }
        guard let resolved = Self.realPath(path + "/" + relative) else { throw .missing(relative) }
        guard resolved == path || path == "/" || resolved.hasPrefix(path + "/") else { throw .outside(relative) }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder), !isFolder.boolValue else {
            throw .notAFile(relative)
        }
        return resolved
    }

    /// `realpath(3)`: nil when a component is missing or cannot be searched.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// Why a slide path was refused. ``description`` is one line that never names the server's folders.
public enum SlideRootError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Empty, too long, or with control characters.
    case invalid(String)
    /// Starts with `/`.
    case absolute(String)
    /// Has a `..` component.
    case parentComponent(String)
    /// Resolves, through a symbolic link, to a file outside the slide root.
    case outside(String)
    /// Names nothing under the slide root.
    case missing(String)
    /// Names a folder or another non-file.
    case notAFile(String)
    /// The configured slide root itself is unusable (a startup error).
    case unusableRoot(String)

    /// Refusals of the path's form (400) as opposed to what it names (404).
    public var isMalformed: Bool {
        switch self {
        case .invalid, .absolute, .parentComponent, .outside: true
        case .missing, .notAFile, .unusableRoot: false
        }
    }

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        case .absolute(let path):
            "slide must be a path relative to the slide root, not an absolute path: \(ScanJobError.quoted(path))"
        case .parentComponent(let path): "slide must not contain '..' components: \(ScanJobError.quoted(path))"
        case .outside(let path): "slide \(ScanJobError.quoted(path)) leads outside the slide root (a symbolic link)"
        case .missing(let path): "no slide \(ScanJobError.quoted(path)) under the slide root"
        case .notAFile(let path): "slide \(ScanJobError.quoted(path)) is not a file"
        case .unusableRoot(let reason): "slide root \(reason)"
        }
    }
}
