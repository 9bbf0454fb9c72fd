/// Why the scan-job service refused a request; ``description`` is one readable line for a problem's `detail`.
///
/// ```swift
/// do { _ = try runner.submit(slide: "../etc/passwd", parameters: ScanParameters()) } catch {
///     print(error)   // "slide must not contain '..' components: …"
/// }
/// ```
public enum ScanJobError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A parameter out of range (names the JSON field).
    case invalidParameters(String)
    /// The slide path is refused or names no slide under the slide root.
    case slide(SlideRootError)
    /// As many jobs are queued or running as the server allows (`--max-scan-jobs`).
    case tooManyJobs(limit: Int)
    /// No job has this id.
    case notFound(id: String)
    /// The job's results exist only once it has succeeded.
    case notSucceeded(id: String, state: ScanJobState)
    /// The server is stopping: it takes no new job.
    case shuttingDown
    /// The job database failed (a full disk, a file that went away).
    case store(String)

    public var description: String {
        switch self {
        case .invalidParameters(let reason): reason
        case .slide(let error): error.description
        case .tooManyJobs(let limit):
            "\(limit) scan jobs are queued or running, as many as this server takes (--max-scan-jobs); retry once one has finished"
        case .notFound(let id): "no scan job \(Self.quoted(id))"
        case let .notSucceeded(id, state):
            "scan job \(id) is \(state.rawValue): its results exist once it has succeeded"
        case .shuttingDown: "the server is stopping and takes no new scan job"
        case .store(let reason): "the scan job database failed: \(reason)"
        }
    }

    /// A client's string as it is quoted back: at most 80 characters, so a huge id is not echoed whole.
    static func quoted(_ text: String) -> String {
        "'\(text.count > 80 ? text.prefix(77) + "..." : text)'"
    }
}
