import Foundation
import SlideScanning

/// Scans `histoae scan`'s slides one after another into `out/<slide stem>/` (repeated stems get `_2`, `_3`, …),
/// with a progress bar per slide on a terminal, one summary line per slide on stderr, the finished folder on
/// stdout, and one line per slide that could not be scanned.
///
/// ```swift
/// let run = ScanRun(scanner: scanner, slides: ["a.svs", "b.svs"], out: URL(fileURLWithPath: "scans"))
/// let outcome = await run.scanAll()        // outcome.scanned, outcome.failed, outcome.interrupted
/// ```
struct ScanRun: Sendable {
    let scanner: SlideScanner
    let slides: [String]
    let out: URL

    struct Outcome: Sendable {
        var scanned = 0
        var failed = 0
        var interrupted = false
    }

    func scanAll() async -> Outcome {
        var outcome = Outcome()
        let names = InputFile.uniqued(slides.map { InputFile(path: $0, missing: false).stem })
        for (slide, name) in zip(slides, names) {
            if Task.isCancelled { outcome.interrupted = true; break }
            let label = URL(fileURLWithPath: slide).lastPathComponent
            let bar = ScanProgressBar(label: label)
            let folder = out.appendingPathComponent(name)
            do {
                let summary = try await scanner.scan(slidePath: slide, outputFolder: folder, progress: bar.update)
                bar.finish()
                report(label, summary)
                print(folder.path)
                outcome.scanned += 1
            } catch {
                bar.finish()
                if case .cancelled = error { outcome.interrupted = true; break }
                FileHandle.standardError.write(Data("\(error.description)\n".utf8))
                outcome.failed += 1
            }
        }
        return outcome
    }

    /// `cmu-1.svs: 218 tiles in 11.2 s (19.5 tiles/s), level 0 at 0.499 µm/px: 200 normal, 10 anomalous, 8 not_tissue`.
    private func report(_ label: String, _ summary: ScanSummary) {
        let counts = [("normal", summary.verdicts.normal), ("anomalous", summary.verdicts.anomalous),
                      ("not_tissue", summary.verdicts.notTissue)].map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        let line = String(format: "%@: %d tiles in %.1f s (%.1f tiles/s), level %d at %g µm/px: %@ (method %@, threshold %g, fpr %g)\n",
                          label, summary.tilesScanned, summary.timings.totalSeconds, summary.timings.tilesPerSecond,
                          summary.scan.level, summary.scan.levelMPP, counts, summary.method.rawValue, summary.threshold,
                          summary.fpr)
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Runs `work` in a task that SIGINT (Ctrl-C) cancels instead of killing the process, so a scan can remove its
/// unfinished files; the default SIGINT action is restored afterwards.
enum ScanInterruption {
    static func cancellingOnSIGINT(_ work: @escaping @Sendable () async -> ScanRun.Outcome) async -> ScanRun.Outcome {
        let task = Task { await work() }
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { task.cancel() }
        source.resume()
        var outcome = await task.value
        source.cancel()
        signal(SIGINT, SIG_DFL)
        if task.isCancelled { outcome.interrupted = true }
        return outcome
    }
}
