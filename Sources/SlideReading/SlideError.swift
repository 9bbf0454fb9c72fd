/// Why a slide could not be opened, measured or read.
///
/// Every failure of OpenSlide — a missing file, a format it does not read, a corrupt tile — maps to one of
/// these cases; none crashes the process. ``description`` is one readable line (file name first), fit for a
/// command line's stderr or an HTTP error body.
///
/// ```swift
/// do {
///     let slide = try Slide(path: "broken.svs")
/// } catch {
///     print(error)   // "broken.svs: not a whole-slide image OpenSlide 3.4.1 can read (unsupported format or corrupt file)"
/// }
/// ```
public enum SlideError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No file at the path.
    case notFound(path: String)
    /// The path is a directory, or the file cannot be opened for reading.
    case notReadable(path: String, reason: String)
    /// OpenSlide recognises no vendor format in the file (a PNG, a plain text file, a truncated header).
    case unsupportedFormat(path: String)
    /// OpenSlide recognised the format but failed to open it; `reason` is OpenSlide's message.
    case openFailed(path: String, reason: String)
    /// The file's metadata cannot be used (no levels, a level of zero size, a downsample below 1, …).
    case invalidMetadata(path: String, reason: String)
    /// Reading pixels failed; `reason` is OpenSlide's message. The slide handle stays in this error state.
    case readFailed(path: String, reason: String)
    /// A region, level or grid request outside what the slide or the limits allow; refused before allocating.
    case invalidRequest(String)
    /// The slide has no usable `openslide.mpp-x/y` and no µm/px was given.
    case noResolution(path: String)

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(Self.name(path)): no such file"
        case let .notReadable(path, reason):
            return "\(Self.name(path)): cannot be read (\(reason))"
        case .unsupportedFormat(let path):
            return "\(Self.name(path)): not a whole-slide image OpenSlide \(Slide.openSlideVersion) can read "
                + "(unsupported format or corrupt file)"
        case let .openFailed(path, reason):
            return "\(Self.name(path)): OpenSlide cannot open it: \(reason)"
        case let .invalidMetadata(path, reason):
            return "\(Self.name(path)): unusable slide metadata: \(reason)"
        case let .readFailed(path, reason):
            return "\(Self.name(path)): reading pixels failed: \(reason)"
        case .invalidRequest(let reason):
            return reason
        case .noResolution(let path):
            return "\(Self.name(path)): the slide has no resolution metadata (openslide.mpp-x/-y); "
                + "give its µm per pixel explicitly (histoae scan --slide-mpp)"
        }
    }

    /// The last path component: enough to recognise the file, without echoing a server's folders.
    static func name(_ path: String) -> String {
        let last = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        return oneLine(last)
    }

    /// OpenSlide's (and the file's) text as one printable line of at most 300 characters: control characters,
    /// newlines included, become spaces, so a hostile file cannot forge extra log lines.
    static func oneLine(_ text: String) -> String {
        let cleaned = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        return cleaned.count > 300 ? String(cleaned.prefix(300)) + "…" : cleaned
    }
}
