import Foundation
import GRDB

/// The scan jobs' records in one SQLite file (`<state-dir>/scans.sqlite`, GRDB, WAL journal): created,
/// updated as they run, listed newest first, deleted. Opening a store whose server stopped while jobs were
/// queued or running marks them ``ScanJobState/interrupted`` (``markUnfinishedInterrupted(at:)``); finished
/// jobs stay listed until retention removes them. Thread-safe (GRDB serializes every access).
///
/// ```swift
/// let store = try ScanJobStore(path: stateDir + "/scans.sqlite")
/// let interrupted = try store.markUnfinishedInterrupted(at: Date())   // after a restart
/// try store.insert(ScanJob(slide: "cmu-1.svs", parameters: ScanParameters()))
/// let page = try store.list(limit: 50, before: nil)                   // newest first
/// ```
public final class ScanJobStore: Sendable {
    private let database: DatabaseQueue

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String) throws(ScanJobError) {
        var configuration = Configuration()
        configuration.label = "histoae.scan-jobs"
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // WAL: a progress update does not wait on readers, and survives a crash in one fsync'd log.
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
        } catch {
            throw .store("\(path): \(Self.describe(error))")
        }
    }

    /// The schema, one migration per change; a newer server migrates an older file in place.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: scan_job") { db in
            // The implicit rowid orders jobs by creation for listing and paging: SQLite gives a new row one more
            // than the largest in the table.
            try db.create(table: ScanJob.databaseTableName) { table in
                table.primaryKey("id", .text)
                table.column("slide", .text).notNull()
                table.column("state", .text).notNull().indexed()
                table.column("stride", .integer).notNull()
                table.column("min_tissue", .double).notNull()
                table.column("slide_mpp", .double)
                table.column("method", .text).notNull()
                table.column("threshold_kind", .text).notNull()
                table.column("threshold_value", .double)
                table.column("tiles_done", .integer).notNull()
                table.column("tiles_total", .integer)
                table.column("created_at", .double).notNull()
                table.column("started_at", .double)
                table.column("finished_at", .double).indexed()
                table.column("error", .text)
                table.column("tiles_per_second", .double)
                table.column("normal_tiles", .integer)
                table.column("anomalous_tiles", .integer)
                table.column("not_tissue_tiles", .integer)
            }
        }
        return migrator
    }

    /// Marks every queued or running job interrupted (the server that ran them stopped); their ids.
    public func markUnfinishedInterrupted(at date: Date, reason: String = "the server stopped before the job finished")
        throws(ScanJobError) -> [String] {
        try access {
            try database.write { db in
                let jobs = try ScanJob.filter([ScanJobState.queued.rawValue, ScanJobState.running.rawValue]
                    .contains(ScanJob.CodingKeys.state)).fetchAll(db)
                for var job in jobs {
                    job.state = .interrupted
                    job.finishedAt = date
                    job.error = reason
                    try job.update(db)
                }
                return jobs.map(\.id)
            }
        }
    }

    public func insert(_ job: ScanJob) throws(ScanJobError) {
        try access { try database.write { db in try job.insert(db) } }
    }

    public func job(id: String) throws(ScanJobError) -> ScanJob? {
        try access { try database.read { db in try ScanJob.fetchOne(db, key: ["id": id]) } }
    }

    /// Changes one job in one transaction; the job as changed, nil when there is none (or `change` returned
    /// false: nothing written).
    @discardableResult
    public func update(id: String, _ change: @Sendable @escaping (inout ScanJob) -> Bool) throws(ScanJobError) -> ScanJob? {
        try access {
            try database.write { db in
                guard var job = try ScanJob.fetchOne(db, key: ["id": id]), change(&job) else { return nil }
                try job.update(db)
                return job
            }
        }
    }

    /// At most `limit` jobs, newest first, created before the job `before` (nil: from the newest).
    ///
    /// - Throws: ``ScanJobError/notFound(id:)`` when `before` names no job.
    public func list(limit: Int, before: String? = nil) throws(ScanJobError) -> [ScanJob] {
        let jobs: [ScanJob]? = try access {
            try database.read { db in
                var request = ScanJob.order(Column.rowID.desc).limit(max(0, limit))
                if let before {
                    guard let row = try Int64.fetchOne(db, sql: "SELECT rowid FROM scan_job WHERE id = ?", arguments: [before]) else {
                        return nil
                    }
                    request = request.filter(Column.rowID < row)
                }
                return try request.fetchAll(db)
            }
        }
        guard let jobs else { throw .notFound(id: before ?? "") }
        return jobs
    }

    /// Jobs queued now, oldest first.
    public func queuedIDs() throws(ScanJobError) -> [String] {
        try access {
            try database.read { db in
                try String.fetchAll(db, sql: "SELECT id FROM scan_job WHERE state = ? ORDER BY rowid",
                                    arguments: [ScanJobState.queued.rawValue])
            }
        }
    }

    /// Finished jobs that finished before `date` (retention). Dates are stored as seconds since the reference
    /// date (``ScanJob/databaseDateEncodingStrategy(for:)``), so they are compared as such.
    public func finishedIDs(before date: Date) throws(ScanJobError) -> [String] {
        try access {
            try database.read { db in
                try ScanJob.filter(!([ScanJobState.queued.rawValue, ScanJobState.running.rawValue]
                    .contains(ScanJob.CodingKeys.state)) && ScanJob.CodingKeys.finishedAt < date.timeIntervalSinceReferenceDate)
                    .fetchAll(db).map(\.id)
            }
        }
    }

    /// Jobs per state (every state present, zero where none).
    public func countsByState() throws(ScanJobError) -> [ScanJobState: Int] {
        let rows: [(String, Int)] = try access {
            try database.read { db in
                try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM scan_job GROUP BY state").map { ($0["state"], $0["n"]) }
            }
        }
        var counts = Dictionary(uniqueKeysWithValues: ScanJobState.allCases.map { ($0, 0) })
        for (state, count) in rows { if let state = ScanJobState(rawValue: state) { counts[state] = count } }
        return counts
    }

    /// Deletes the job's record; whether there was one.
    @discardableResult
    public func delete(id: String) throws(ScanJobError) -> Bool {
        try access { try database.write { db in try ScanJob.deleteOne(db, key: ["id": id]) } }
    }

    /// Runs a database access, its GRDB or SQLite error as ``ScanJobError/store(_:)``.
    private func access<T>(_ body: () throws -> T) throws(ScanJobError) -> T {
        do { return try body() } catch let error as ScanJobError { throw error } catch { throw .store(Self.describe(error)) }
    }

    private static func describe(_ error: any Error) -> String {
        (error as? DatabaseError).map { "\($0.resultCode): \($0.message ?? "no message")" } ?? "\(error)"
    }
}
