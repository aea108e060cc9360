import CSQLiteConfig
import Foundation
import GRDB
import RastroCore

/// rastro's database: one SQLite file in WAL mode, written by one connection.
///
/// Everything above this type speaks rastro's domain (shipments, events, polls),
/// never SQL or GRDB, so another backend (PostgreSQL for several nodes) can sit
/// behind the same methods later. Every method that depends on the time takes
/// `now`; nothing here reads a clock.
public final class Store: Sendable {
    let pool: DatabasePool
    public let path: String
    let group: GroupCommit
    let reads: GroupRead

    /// SQLite's process-wide settings, applied once, before the first connection opens
    /// (SQLite refuses them afterwards). Memory statistics off: see `rastro_sqlite_config.c`.
    /// False if a connection opened first (a library in the process using SQLite itself);
    /// rastro works either way, only slower under load.
    public static let processSettings: Bool = rastro_sqlite_disable_memstatus() == 0 /* SQLITE_OK */

    /// How long a writer waits for a lock before SQLITE_BUSY reaches the caller.
    public static let busyTimeout: TimeInterval = 10

    public init(path: String) throws {
        _ = Self.processSettings
        self.path = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.label = "rastro"
        // Readers never wait on the writer in WAL mode; a few are enough for the API and CLI.
        configuration.maximumReaderCount = 4
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB turns WAL on and then sets synchronous=NORMAL, which can lose the last
            // transactions on power loss. A tracking event or an outbox row that was
            // acknowledged must survive, so the writer runs with FULL.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.refuseNewerSchema(pool)
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError.open(path: path, error)
        }
        group = GroupCommit(pool: pool)
        // Two read-only connections of the group read's own: pushes are planned on both
        // cores, and a slow merchant rule in one batch does not hold up every read.
        var readerConfiguration = Configuration()
        readerConfiguration.readonly = true
        readerConfiguration.busyMode = .timeout(Self.busyTimeout)
        readerConfiguration.label = "rastro.group-read"
        do {
            reads = GroupRead(readers: try (0..<2).map { _ in
                let connection = try DatabaseQueue(path: path, configuration: readerConfiguration)
                return { body in try connection.inDatabase { db in try body(db) } }
            })
        } catch {
            throw StoreError.open(path: path, error)
        }
    }

    /// A write that may share its transaction with concurrent ones (see `GroupCommit`).
    func groupWrite<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await group.write(body) } catch let error as StoreError { throw error } catch { throw StoreError.database(error) }
    }

    /// A read that does not block the calling thread.
    ///
    /// Run on a GCD queue, not with GRDB's async `read`: that one waits for a free
    /// reader on a semaphore *in the calling task's thread*, and holds its reader until
    /// the task is resumed on the cooperative pool. With every reader taken by tasks
    /// waiting to resume, and the pool's two threads waiting for a reader, nothing
    /// moved again (`rastro serve` hung under a push load). Here a reader is taken and
    /// given back on a GCD thread, never depending on the cooperative pool.
    ///
    /// `snapshot: false` reads without a transaction (see `read(snapshot:_:)`).
    ///
    /// Reads without a snapshot share readers and threads when they queue up (`GroupRead`).
    func asyncRead<T: Sendable>(snapshot: Bool = true, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if !snapshot {
            do { return try await reads.read(body) } catch let error as StoreError { throw error } catch { throw StoreError.database(error) }
        }
        return try await Self.run(on: Self.readQueue) { try self.read(snapshot: snapshot, body) }
    }

    /// `body` on a GCD queue, the calling task suspended until it returns: database work
    /// that may wait (for a reader, for the writer) never holds a Swift concurrency thread.
    static func run<T: Sendable>(on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    private static let readQueue = DispatchQueue(label: "rastro.store.read", attributes: .concurrent)

    /// A read of a few indexed rows, run in the calling task's thread.
    ///
    /// For the lookups every request makes (its API key): they take
    /// microseconds, less than the two thread switches `asyncRead` costs. This cannot
    /// hang like GRDB's async read (see `asyncRead`): the reader is taken and given back
    /// within this call, so whoever waits for a reader waits for work that is running.
    /// One statement, so no transaction either (see `read(snapshot:_:)`).
    func pointRead<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try read(snapshot: false, body)
    }

    /// A database upgraded by a newer rastro has migrations this binary does not know;
    /// running on it could write rows the newer schema no longer accepts. There is no
    /// downgrade: run the newer version, or restore the backup taken before upgrading.
    static func refuseNewerSchema(_ pool: DatabasePool) throws {
        let unknown = try pool.read { db -> [String] in
            guard try db.tableExists("grdb_migrations") else { return [] }
            let known = Set(Self.migrator.migrations)
            return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").filter { !known.contains($0) }
        }
        if let newest = unknown.last {
            throw StoreError.invalid("""
                this database was upgraded by a newer rastro (migration '\(newest)' is unknown to this version); \
                run that version, or restore the backup taken before the upgrade
                """)
        }
    }

    /// Opens `<directory>/rastro.sqlite`, creating the folder when needed.
    public static func open(directory: URL) throws -> Store {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try Store(path: directory.appendingPathComponent("rastro.sqlite").path)
    }

    /// A pragma as the writer connection sees it (tests read `synchronous`, `foreign_keys`, `journal_mode`).
    public func writerPragma(_ name: String) throws -> String {
        precondition(name.allSatisfy { $0.isLetter || $0 == "_" }, "pragma names only")
        return try pool.writeWithoutTransaction { db in
            try String.fetchOne(db, sql: "PRAGMA \(name)") ?? ""
        }
    }

    /// `PRAGMA integrity_check` → "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// The names of the migrations applied, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }

    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        do { return try pool.write(body) } catch let error as StoreError { throw error } catch { throw StoreError.database(error) }
    }

    /// `snapshot: true` runs `body` in a read transaction: every statement sees the same
    /// moment. `false` runs each statement on its own: for one statement, or for work that
    /// the writer checks against what it finds (the push and poll plans compare the
    /// shipment row and its events by content, so statements from two moments cannot slip
    /// through). GRDB compiles BEGIN and COMMIT for every transaction: a tenth of the
    /// samples in a push profile, and 5 % of a push's CPU once left out.
    func read<T: Sendable>(snapshot: Bool = true, _ body: @Sendable (Database) throws -> T) throws -> T {
        do {
            return try snapshot ? pool.read(body) : pool.unsafeRead(body)
        } catch let error as StoreError { throw error } catch { throw StoreError.database(error) }
    }
}
