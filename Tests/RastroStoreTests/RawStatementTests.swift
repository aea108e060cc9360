import GRDB
import Testing
@testable import RastroStore
import RastroCore

/// Statements stepped through SQLite's C API (`RawStatement`) next to GRDB's own use of them.
@Suite("Raw statements")
struct RawStatementTests {
    func table(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT, n INTEGER NOT NULL DEFAULT 0)")
    }

    @Test func valuesWrittenRawReadBackTheSameThroughGRDBAndRaw() throws {
        let queue = try memoryDatabase()
        try queue.write { db in
            try table(db)
            for (name, note) in [("Zoë ✓", nil), ("", "x"), ("a\"b", "ü")] as [(String, String?)] {
                var s = try RawStatement(db.cachedStatement(sql: "INSERT INTO t (name, note, n) VALUES (?, ?, ?)"))
                s.bind(name)
                s.bind(note)
                s.bind(Int64.max)
                try s.execute()
            }
            let viaGRDB = try Row.fetchAll(db, sql: "SELECT name, note FROM t ORDER BY id").map { [$0[0] as String?, $0[1] as String?] }
            var viaRaw: [[String?]] = []
            try RawStatement(db.cachedStatement(sql: "SELECT name, note, n FROM t ORDER BY id")).forEachRow { row in
                viaRaw.append([row[0] as String, row[1] as String?])
                #expect(row[2] as Int64 == .max)
            }
            #expect(viaGRDB == [["Zoë ✓", nil], ["", "x"], ["a\"b", "ü"]])
            #expect(viaRaw == viaGRDB)
        }
    }

    @Test func aCachedStatementServesGRDBAndRawUsesInTurn() throws {
        let queue = try memoryDatabase()
        try queue.write { db in
            try table(db)
            try db.execute(sql: "INSERT INTO t (name) VALUES ('a'), ('b'), ('c')")
            let sql = "SELECT name FROM t WHERE id >= ? ORDER BY id"
            for start in [1, 2, 3, 1] as [Int64] {
                // GRDB leaves the statement mid-result here (fetchOne), the raw use must still see it fresh…
                #expect(try String.fetchOne(db.cachedStatement(sql: sql), arguments: [start]) == ["a", "b", "c"][Int(start) - 1])
                var s = try RawStatement(db.cachedStatement(sql: sql))
                s.bind(start)
                var names: [String] = []
                try s.forEachRow { names.append($0[0]) }
                #expect(names == Array(["a", "b", "c"][Int(start - 1)...]))
                // …and GRDB, after it, gets its own arguments bound.
                #expect(try String.fetchAll(db.cachedStatement(sql: sql), arguments: [start]).count == names.count)
            }
        }
    }

    @Test func aConstraintBrokenByARawWriteIsTheDatabaseErrorGRDBWouldThrow() throws {
        let queue = try memoryDatabase()
        try queue.write { db in
            try table(db)
            var s = try RawStatement(db.cachedStatement(sql: "INSERT INTO t (name) VALUES (?)"))
            s.bind(String?.none)
            let error = try #require(throws: DatabaseError.self) { try s.execute() }
            #expect(error.extendedResultCode == .SQLITE_CONSTRAINT_NOTNULL)
            #expect(error.message?.contains("t.name") == true)
            // The statement is usable again at once.
            var again = try RawStatement(db.cachedStatement(sql: "INSERT INTO t (name) VALUES (?)"))
            again.bind("ok")
            try again.execute()
            #expect(try String.fetchAll(db, sql: "SELECT name FROM t") == ["ok"])
        }
    }

    @Test func tooFewValuesBoundIsAnErrorNotANull() throws {
        let queue = try memoryDatabase()
        try queue.write { db in
            try table(db)
            var s = try RawStatement(db.cachedStatement(sql: "INSERT INTO t (name, note) VALUES (?, ?)"))
            s.bind("only one")
            let error = try #require(throws: DatabaseError.self) { try s.execute() }
            #expect(error.message == "1 values bound, 2 expected")
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM t") == 0)
        }
    }
}
