import ArgumentParser
import ScanJobs

/// `histoae serve`'s scan-job options, each with its `HISTOAE_*` variable (the flag wins): the slide root that
/// turns `/v1/scans` on, the state directory, and the job limits, with ``ScanJobs/ScanJobsConfiguration``'s
/// defaults and ranges.
///
/// ```sh
/// histoae serve --slide-root /data/slides --state-dir /var/lib/histoae --scan-workers 1 --max-scan-jobs 16
/// HISTOAE_SLIDE_ROOT=/data/slides HISTOAE_STATE_DIR=/var/lib/histoae histoae serve
/// ```
struct ScanJobOptions: ParsableArguments {
    @Option(name: .customLong("slide-root"), help: "Folder of the slides clients may scan with POST /v1/scans (paths relative to it; nothing outside it is read). Without it the scan routes answer 404 (env HISTOAE_SLIDE_ROOT).")
    var slideRoot: String?
    @Option(name: .customLong("state-dir"), help: "Folder for the scan job database (scans.sqlite) and results (scans/<id>/); needed with --slide-root (env HISTOAE_STATE_DIR).")
    var stateDirectory: String?
    @Option(name: .customLong("max-scan-jobs"), help: "Scan jobs queued and running at once; one more gets 429 (env HISTOAE_MAX_SCAN_JOBS, default \(ScanJobsConfiguration.defaultMaxJobs)).")
    var maxScanJobs: Int?
    @Option(name: .customLong("scan-workers"), help: "Scans running at once, each on its own thread; their tiles yield to patch requests in the engine (env HISTOAE_SCAN_WORKERS, default \(ScanJobsConfiguration.defaultWorkers)).")
    var scanWorkers: Int?
    @Option(name: .customLong("scan-retention-h"), help: "Hours a finished scan job and its results are kept (env HISTOAE_SCAN_RETENTION_H, default \(Int(ScanJobsConfiguration.defaultRetentionHours))).")
    var scanRetentionHours: Double?
    @Option(name: .customLong("open-slides"), help: "Slides the viewer's tile and panel routes keep open between requests, each with OpenSlide's tile cache of up to 32 MiB (env HISTOAE_OPEN_SLIDES, default \(ScanJobsConfiguration.defaultOpenSlides)).")
    var openSlides: Int?

    /// The options over the environment over the defaults; range checks are ``ScanJobs/ScanJobsConfiguration/validate()``'s.
    func configuration(_ env: Environment) throws -> ScanJobsConfiguration {
        var scans = ScanJobsConfiguration()
        scans.slideRoot = slideRoot ?? env["HISTOAE_SLIDE_ROOT"]
        scans.stateDirectory = stateDirectory ?? env["HISTOAE_STATE_DIR"]
        scans.maxJobs = try env.resolve(maxScanJobs, "HISTOAE_MAX_SCAN_JOBS", default: scans.maxJobs, Int.init)
        scans.workers = try env.resolve(scanWorkers, "HISTOAE_SCAN_WORKERS", default: scans.workers, Int.init)
        scans.retentionHours = try env.resolve(scanRetentionHours, "HISTOAE_SCAN_RETENTION_H", default: scans.retentionHours,
                                               Double.init)
        scans.openSlides = try env.resolve(openSlides, "HISTOAE_OPEN_SLIDES", default: scans.openSlides, Int.init)
        return scans
    }
}
