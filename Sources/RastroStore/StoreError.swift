import Foundation

/// What went wrong in the store, in words an operator can act on.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    private enum Base: Sendable {
        case open(path: String, String)
        case database(String)
        case notFound(String)
        case conflict(String)
        case invalid(String)
    }

    private let base: Base

    static func open(path: String, _ error: any Error) -> StoreError { StoreError(base: .open(path: path, "\(error)")) }
    static func database(_ error: any Error) -> StoreError { StoreError(base: .database("\(error)")) }
    public static func notFound(_ what: String) -> StoreError { StoreError(base: .notFound(what)) }
    public static func conflict(_ what: String) -> StoreError { StoreError(base: .conflict(what)) }
    public static func invalid(_ what: String) -> StoreError { StoreError(base: .invalid(what)) }

    public var isNotFound: Bool { if case .notFound = base { true } else { false } }
    public var isConflict: Bool { if case .conflict = base { true } else { false } }

    public var description: String {
        switch base {
        case .open(let path, let error): "cannot open the database at \(path): \(error)"
        case .database(let error): "database error: \(error)"
        case .notFound(let what): "\(what) not found"
        case .conflict(let what): what
        case .invalid(let what): what
        }
    }
}
