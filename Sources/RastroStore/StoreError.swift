import Foundation
import GRDB

/// What went wrong in the store, in words an operator can act on.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    private enum Base: Sendable {
        case open(path: String, String)
        case database(String)
        case notFound(String)
        case conflict(String)
        case invalid(String)
        case storage(StorageProblem, String)
    }

    /// The database cannot take writes for a reason outside rastro: the operator has to act.
    public enum StorageProblem: String, Sendable {
        case diskFull = "disk_full"
        case readOnly = "read_only"
        case ioError = "io_error"
    }

    private let base: Base

    static func open(path: String, _ error: any Error) -> StoreError { StoreError(base: .open(path: path, "\(error)")) }
    static func database(_ error: any Error) -> StoreError {
        // SQLite rolls the transaction back on these; naming them tells the operator what to fix.
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_FULL: return StoreError(base: .storage(.diskFull, "\(error)"))
            case .SQLITE_READONLY: return StoreError(base: .storage(.readOnly, "\(error)"))
            case .SQLITE_IOERR: return StoreError(base: .storage(.ioError, "\(error)"))
            default: break
            }
        }
        return StoreError(base: .database("\(error)"))
    }
    public static func notFound(_ what: String) -> StoreError { StoreError(base: .notFound(what)) }
    public static func conflict(_ what: String) -> StoreError { StoreError(base: .conflict(what)) }
    public static func invalid(_ what: String) -> StoreError { StoreError(base: .invalid(what)) }

    public var isNotFound: Bool { if case .notFound = base { true } else { false } }
    public var isConflict: Bool { if case .conflict = base { true } else { false } }
    /// Set when the disk is full, the database is read-only or the disk failed.
    public var storageProblem: StorageProblem? { if case .storage(let problem, _) = base { problem } else { nil } }

    public var description: String {
        switch base {
        case .open(let path, let error): "cannot open the database at \(path): \(error)"
        case .database(let error): "database error: \(error)"
        case .notFound(let what): "\(what) not found"
        case .conflict(let what): what
        case .invalid(let what): what
        case .storage(.diskFull, let error): "the disk is full: the database could not grow, nothing of this write was saved (\(error))"
        case .storage(.readOnly, let error): "the database is read-only: nothing of this write was saved (\(error))"
        case .storage(.ioError, let error): "disk I/O error: nothing of this write was saved (\(error))"
        }
    }
}
