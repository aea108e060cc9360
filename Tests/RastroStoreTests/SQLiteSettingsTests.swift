import GRDB
import GRDBSQLite
import Testing
@testable import RastroStore
import RastroCore

@Suite("SQLite's process-wide settings")
struct SQLiteSettingsTests {
    /// Memory statistics take one process-wide mutex in every sqlite3_malloc and
    /// sqlite3_free; with them off, SQLite counts nothing.
    @Test func sqliteKeepsNoMemoryStatisticsOnceAStoreIsOpen() throws {
        let db = try TemporaryStore()
        _ = try db.store.ensureMerchant(name: "m", now: t0)
        #expect(Store.processSettings)
        #expect(sqlite3_memory_used() == 0)
    }
}

/// An in-memory database for tests, opened after `Store.processSettings` like every
/// connection `Store` opens: SQLite takes process-wide settings only before its first
/// connection, and the suites run in one process, in any order.
func memoryDatabase() throws -> DatabaseQueue {
    _ = Store.processSettings
    return try DatabaseQueue()
}
