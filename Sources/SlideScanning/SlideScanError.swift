import InferenceService
import SlideReading

/// Why a slide scan did not finish. ``description`` is one readable line, slide file name first where there is
/// one — for a command line's stderr or a scan job's error field.
///
/// ```swift
/// do { _ = try await scanner.scan(slidePath: "broken.svs", outputFolder: folder) } catch {
///     print(error)   // "broken.svs: not a whole-slide image OpenSlide 3.4.1 can read (unsupported format or corrupt file)"
/// }
/// ```
public enum SlideScanError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Opening, measuring or reading the slide failed (SlideReading's error, already one line).
    case slide(SlideError)
    /// The model card says nothing usable about its µm/px (`input.mpp`).
    case modelScale(String)
    /// A setting out of range (names the flag).
    case invalidSettings(String)
    /// The engine refused or failed a request.
    case engine(slide: String, ServiceError)
    /// An output file could not be written.
    case output(path: String, reason: String)
    /// The scan was cancelled (its task, or the scan job) before it finished.
    case cancelled(slide: String)

    public var description: String {
        switch self {
        case .slide(let error): error.description
        case .modelScale(let reason): reason
        case .invalidSettings(let reason): reason
        case let .engine(slide, error): "\(Self.name(slide)): inference failed: \(error.description)"
        case let .output(path, reason): "\(path): cannot write: \(reason)"
        case .cancelled(let slide): "\(Self.name(slide)): the scan was cancelled"
        }
    }

    /// The path's last component: enough to recognise the slide without echoing a server's folders.
    static func name(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
    }
}
