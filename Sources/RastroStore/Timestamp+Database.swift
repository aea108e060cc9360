import GRDB
import RastroCore

// Times are whole seconds since the epoch in INTEGER columns: compact, indexable,
// and compared as numbers in the due-poll query.
extension Timestamp: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { secondsSinceEpoch.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Timestamp? {
        Int64.fromDatabaseValue(dbValue).map(Timestamp.init(secondsSinceEpoch:))
    }
}

extension TrackingStatus: DatabaseValueConvertible {}
