import InferenceService
import ScanJobs
import Testing

/// ``ScanJobsConfiguration/validate()``: every setting's range, at both ends, with one sentence naming the flag.
@Suite("Scan job settings")
struct ScanJobsConfigurationTests {
    static func configured(_ edit: (inout ScanJobsConfiguration) -> Void) -> ScanJobsConfiguration {
        var scans = ScanJobsConfiguration()
        scans.slideRoot = "/data/slides"
        scans.stateDirectory = "/var/lib/histoae"
        edit(&scans)
        return scans
    }

    @Test("the defaults and both ends of every range are accepted")
    func inRange() throws {
        try Self.configured { _ in }.validate()
        try ScanJobsConfiguration().validate()   // scan jobs off
        try Self.configured { $0.openSlides = ScanJobsConfiguration.openSlidesRange.lowerBound }.validate()
        try Self.configured { $0.openSlides = ScanJobsConfiguration.openSlidesRange.upperBound }.validate()
        try Self.configured { $0.maxJobs = ScanJobsConfiguration.maxJobsRange.upperBound }.validate()
        try Self.configured { $0.workers = ScanJobsConfiguration.workersRange.lowerBound }.validate()
        try Self.configured { $0.retentionHours = ScanJobsConfiguration.retentionHoursRange.lowerBound }.validate()
    }

    @Test("a value outside its range is refused naming the flag, the range and the value")
    func outOfRange() {
        let cases: [(ScanJobsConfiguration, String)] = [
            (Self.configured { $0.openSlides = 0 }, "--open-slides must be in 1...64, got 0"),
            (Self.configured { $0.openSlides = 65 }, "--open-slides must be in 1...64, got 65"),
            (Self.configured { $0.maxJobs = 0 }, "--max-scan-jobs must be in 1...10000, got 0"),
            (Self.configured { $0.workers = 17 }, "--scan-workers must be in 1...16, got 17"),
            (Self.configured { $0.retentionHours = .nan }, "--scan-retention-h must be between"),
            (Self.configured { $0.stateDirectory = nil }, "--slide-root needs --state-dir"),
        ]
        for (scans, message) in cases {
            #expect(throws: ConfigurationError.self) { try scans.validate() }
            do { try scans.validate() } catch { #expect(error.description.contains(message), "\(error.description)") }
        }
    }
}
