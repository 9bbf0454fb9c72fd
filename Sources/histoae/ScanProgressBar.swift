import Foundation
import SlideScanning
import Synchronization

/// `histoae scan`'s progress line on stderr — `cmu-1.svs [#########...........] 120/266 tiles 18.3 tiles/s ETA 0:08`
/// — redrawn in place at most 5 times a second, and only when stderr is a terminal: a pipe or a file gets
/// nothing, so logs stay clean.
///
/// ```swift
/// let bar = ScanProgressBar(label: "cmu-1.svs")        // nil-like (silent) when stderr is not a terminal
/// bar.update(ScanProgress(done: 120, total: 266, elapsedSeconds: 6.5))
/// bar.finish()
/// ```
final class ScanProgressBar: Sendable {
    let label: String
    /// Whether stderr is a terminal (decided once).
    let enabled: Bool
    static let cells = 24
    static let minimumInterval = 0.2
    /// When the line was last drawn (monotonic seconds), and whether anything was drawn.
    private let state = Mutex<(last: Double, drawn: Bool)>((-.infinity, false))

    init(label: String, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.enabled = enabled
    }

    func update(_ progress: ScanProgress) {
        guard enabled else { return }
        let now = ProcessInfo.processInfo.systemUptime
        let due = state.withLock { state -> Bool in
            guard progress.done >= progress.total || now - state.last >= Self.minimumInterval else { return false }
            state = (now, true)
            return true
        }
        if due { FileHandle.standardError.write(Data(("\r" + Self.line(label, progress) + "\u{1B}[K").utf8)) }
    }

    /// Ends the line (if one was drawn).
    func finish() {
        guard enabled, state.withLock({ $0.drawn }) else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    /// The line without control characters.
    static func line(_ label: String, _ progress: ScanProgress) -> String {
        let fraction = progress.total > 0 ? Double(progress.done) / Double(progress.total) : 1
        let filled = min(cells, Int(fraction * Double(cells)))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: cells - filled)
        var text = "\(label) [\(bar)] \(progress.done)/\(progress.total) tiles"
        if progress.tilesPerSecond > 0 { text += String(format: " %.1f tiles/s", progress.tilesPerSecond) }
        if let remaining = progress.remainingSeconds, progress.done < progress.total {
            let seconds = Int(remaining.rounded())
            text += seconds >= 3600 ? String(format: " ETA %d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
                : String(format: " ETA %d:%02d", seconds / 60, seconds % 60)
        }
        return text
    }
}
