import GRDB
import GRDBSQLite
import RastroCore

// The statements every push and poll runs, stepped through SQLite's C API.
//
// GRDB's own work around a statement — `StatementArguments` (an array of
// `DatabaseValue`s, each through an existential), a `Row` per result row (with a
// column-name dictionary), decoding through `DatabaseValueConvertible` — cost as much
// CPU under a push load as SQLite itself did. Here a cached GRDB statement is bound,
// stepped and read by position with generic, specialized code and no allocation but
// the values read.
//
// Rules for the statements used this way: they come from `db.cachedStatement`, so
// GRDB still owns and finalizes them; every GRDB use of the same SQL passes its
// arguments (GRDB then resets and rebinds, whatever was done here); a raw use resets
// and clears its bindings before and after, so GRDB finds them idle.

/// A value bound to a statement parameter by position.
protocol RawBindable {
    func rawBind(to statement: SQLiteStatement, at index: Int32) -> Int32
}

/// A value read from a result column by position.
protocol RawColumn {
    /// nil when the column holds something this type cannot be made from.
    static func rawRead(_ statement: SQLiteStatement, _ index: Int32) -> Self?
}

/// A cached statement, its parameters being bound in order.
struct RawStatement {
    private let statement: Statement
    private let handle: SQLiteStatement
    private var next: Int32 = 1
    private var failure: Int32 = SQLITE_OK

    init(_ statement: Statement) {
        self.statement = statement
        handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds the next parameter.
    mutating func bind<T: RawBindable>(_ value: T) {
        let code = value.rawBind(to: handle, at: next)
        if code != SQLITE_OK && failure == SQLITE_OK { failure = code }
        next += 1
    }

    /// Runs the statement to its end (an INSERT or UPDATE).
    func execute() throws {
        try run { _ in }
    }

    /// Runs the statement, calling `row` for each result row.
    func forEachRow(_ row: (RawRow) throws -> Void) throws {
        try run(row)
    }

    private func run(_ row: (RawRow) throws -> Void) throws {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        guard failure == SQLITE_OK else { throw error(failure) }
        guard next - 1 == sqlite3_bind_parameter_count(handle) else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "\(next - 1) values bound, \(sqlite3_bind_parameter_count(handle)) expected",
                                sql: statement.sql)
        }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: try row(RawRow(handle: handle, statement: statement))
            case SQLITE_DONE: return
            case let code: throw error(code)
            }
        }
    }

    private func error(_ code: Int32) -> DatabaseError {
        // The connection's message and extended code: SQLITE_FULL stays SQLITE_FULL for `StoreError`.
        let connection = sqlite3_db_handle(handle)
        return DatabaseError(resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
                             message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
    }
}

/// The current result row of a raw statement.
struct RawRow {
    let handle: SQLiteStatement
    /// For the message of a failed read only: GRDB's `sql` trims a copy of the text on every call.
    let statement: Statement

    /// Column `index`, as `T`. A value that is not a `T` (a NULL in a NOT NULL column, an
    /// unknown enum case) stops the process, as GRDB's `row[i]` does: the schema promised it.
    subscript<T: RawColumn>(_ index: Int32) -> T {
        guard let value = T.rawRead(handle, index) else {
            fatalError("column \(index) of `\(statement.sql)` is not a \(T.self)")
        }
        return value
    }
}

// MARK: Types

extension Int64: RawBindable, RawColumn {
    func rawBind(to statement: SQLiteStatement, at index: Int32) -> Int32 { sqlite3_bind_int64(statement, index, self) }
    static func rawRead(_ statement: SQLiteStatement, _ index: Int32) -> Int64? {
        sqlite3_column_type(statement, index) == SQLITE_INTEGER ? sqlite3_column_int64(statement, index) : nil
    }
}

extension Int: RawBindable, RawColumn {
    func rawBind(to statement: SQLiteStatement, at index: Int32) -> Int32 { sqlite3_bind_int64(statement, index, Int64(self)) }
    static func rawRead(_ statement: SQLiteStatement, _ index: Int32) -> Int? { Int64.rawRead(statement, index).map(Int.init) }
}

extension Bool: RawBindable, RawColumn {
    func rawBind(to statement: SQLiteStatement, at index: Int32) -> Int32 { sqlite3_bind_int64(statement, index, self ? 1 : 0) }
    static func rawRead(_ statement: SQLiteStatement, _ index: Int32) -> Bool? { Int64.rawRead(statement, index).map { $0 != 0 } }
}

extension String: RawBindable, RawColumn {
    func rawBind(to statement: SQLiteStatement, at index: Int32) -> Int32 {
        var text = self
        // SQLITE_TRANSIENT: SQLite copies the bytes, which live only for this call.
        return text.withUTF8 { bytes in
            guard let start = bytes.baseAddress, !bytes.isEmpty else { return sqlite3_bind_text(statement, index, "", 0, nil) }
            return sqlite3_bind_text(statement, index, UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.transient)
        }
    }

    static func rawRead(_ statement: SQLiteStatement, _ index: Int32) -> String? {
        guard sqlite3_column_type(statement, index) == SQLITE_TEXT, let text = sqlite3_column_text(statement, index) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, index))), as: UTF8.self)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

extension Timestamp: RawBindable, RawColumn {
    func rawBind(to statement: SQLiteStatement, at index: Int32) -> Int32 { secondsSinceEpoch.rawBind(to: statement, at: index) }
    static func rawRead(_ statement: SQLiteStatement, _ index: Int32) -> Timestamp? {
        Int64.rawRead(statement, index).map(Timestamp.init(secondsSinceEpoch:))
    }
}

extension Optional: RawBindable where Wrapped: RawBindable {
    func rawBind(to statement: SQLiteStatement, at index: Int32) -> Int32 {
        switch self {
        case .some(let value): value.rawBind(to: statement, at: index)
        case .none: sqlite3_bind_null(statement, index)
        }
    }
}

extension Optional: RawColumn where Wrapped: RawColumn {
    /// NULL is nil; anything else must be a `Wrapped`.
    static func rawRead(_ statement: SQLiteStatement, _ index: Int32) -> Wrapped?? {
        if sqlite3_column_type(statement, index) == SQLITE_NULL { return .some(nil) }
        return Wrapped.rawRead(statement, index).map { .some($0) }
    }
}

/// Enums stored as their raw string.
protocol RawStringEnum: RawBindable, RawColumn, RawRepresentable where RawValue == String {}

extension RawStringEnum {
    func rawBind(to statement: SQLiteStatement, at index: Int32) -> Int32 { rawValue.rawBind(to: statement, at: index) }
    static func rawRead(_ statement: SQLiteStatement, _ index: Int32) -> Self? { String.rawRead(statement, index).flatMap(Self.init(rawValue:)) }
}

extension TrackingStatus: RawStringEnum {}
extension EventRecord.Source: RawStringEnum {}
extension OutboxRecord.Kind: RawStringEnum {}
extension OutboxRecord.Status: RawStringEnum {}
extension DeliveryAttemptRecord.Outcome: RawStringEnum {}
