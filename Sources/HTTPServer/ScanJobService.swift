import ScanJobs
import ServiceLifecycle

/// Runs the scan jobs for the life of the application: every minute removes finished jobs past their
/// retention; on graceful shutdown — which reaches it after the HTTP server has answered its accepted
/// requests, and before the engine drains — stops the running scans and marks them (and the queued ones)
/// interrupted, so the engine drains no scan tiles.
///
/// ```swift
/// let app = Application(router: router, services: [EngineService(engine: engine), ScanJobService(runner: runner)])
/// ```
struct ScanJobService: Service {
    let runner: ScanJobRunner

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(60))
                runner.purgeExpired()
            }
        }
        await runner.shutdown()
    }
}
