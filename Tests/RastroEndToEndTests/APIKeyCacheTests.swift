import Foundation
import GRDB
import RastroCore
@testable import RastroServer
@testable import RastroStore
import Testing

/// A server keeps the API keys it has read, and forgets them the moment any process
/// adds or revokes a key (`Store.apiKeysVersion`), or when they grow old.
@Suite("API keys kept by the server")
struct APIKeyCacheTests {
    /// A store with one merchant key; the key and the store's folder (removed by the caller).
    func storeWithKey() throws -> (Store, String, URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rastro-keys-\(UUID().uuidString)")
        let store = try Store.open(directory: root)
        let merchant = try store.ensureMerchant(name: "loja", now: .now)
        return (store, try APIKeys.create(merchantId: merchant.id!, name: "test", store: store, now: .now), root)
    }

    /// Revokes behind the cache's back: the row changes, the version does not.
    func revokeWithoutTelling(_ store: Store) throws {
        _ = try store.write { db in try db.execute(sql: "UPDATE api_key SET revoked_at = 1") }
    }

    @Test func aKeyReadOnceIsNotReadAgainWhileNoKeyChanges() async throws {
        let (store, key, root) = try storeWithKey()
        defer { try? FileManager.default.removeItem(at: root) }
        let cache = APIKeyCache()
        #expect(try await APIKeys.verify(key, store: store, cache: cache) != nil)
        try revokeWithoutTelling(store)
        // Still the row read before: the database was not asked again.
        #expect(try await APIKeys.verify(key, store: store, cache: cache) != nil)
        #expect(try await APIKeys.verify(key, store: store) == nil)
    }

    @Test func aRevocationByAnyStoreOnTheDatabaseIsSeenOnTheNextRequest() async throws {
        let (store, key, root) = try storeWithKey()
        defer { try? FileManager.default.removeItem(at: root) }
        let cache = APIKeyCache()
        #expect(try await APIKeys.verify(key, store: store, cache: cache) != nil)
        // Another process: its own Store on the same file, as `rastro merchant revoke` has.
        let other = try Store.open(directory: root)
        let prefix = String(key.split(separator: "_")[1])
        #expect(try other.revokeAPIKey(prefix: prefix, now: .now))
        #expect(try await APIKeys.verify(key, store: store, cache: cache) == nil)
    }

    @Test func aCachedPrefixWithTheWrongSecretIsRefused() async throws {
        let (store, key, root) = try storeWithKey()
        defer { try? FileManager.default.removeItem(at: root) }
        let cache = APIKeyCache()
        #expect(try await APIKeys.verify(key, store: store, cache: cache) != nil)
        let forged = String(key.dropLast()) + (key.last == "0" ? "1" : "0")
        #expect(try await APIKeys.verify(forged, store: store, cache: cache) == nil)
    }

    @Test func aKeptKeyIsReadAgainOnceItIsOlderThanTheLifetime() async throws {
        let (store, key, root) = try storeWithKey()
        defer { try? FileManager.default.removeItem(at: root) }
        let cache = APIKeyCache()
        let start = ContinuousClock.now
        #expect(try await APIKeys.verify(key, store: store, cache: cache, now: start) != nil)
        try revokeWithoutTelling(store)
        #expect(try await APIKeys.verify(key, store: store, cache: cache, now: start + .seconds(59)) != nil)
        #expect(try await APIKeys.verify(key, store: store, cache: cache, now: start + Store.apiKeyCacheLifetime) == nil)
    }

    @Test func addingOrRevokingAKeyChangesTheVersionEveryProcessSees() throws {
        let (store, key, root) = try storeWithKey()
        defer { try? FileManager.default.removeItem(at: root) }
        let afterAdd = store.apiKeysVersion()
        #expect(afterAdd != nil)
        _ = try store.revokeAPIKey(prefix: String(key.split(separator: "_")[1]), now: .now)
        let afterRevoke = try Store.open(directory: root).apiKeysVersion()
        #expect(afterRevoke != nil && afterRevoke != afterAdd)
    }

    @Test func whenServersCannotBeToldAKeyIsStillCreatedAndARevocationSaysSo() async throws {
        let (store, _, root) = try storeWithKey()
        defer { try? FileManager.default.removeItem(at: root) }
        // A folder where the marker goes: replacing it fails.
        try? FileManager.default.removeItem(atPath: store.apiKeysMarker)
        try FileManager.default.createDirectory(atPath: store.apiKeysMarker, withIntermediateDirectories: false)
        let merchant = try store.ensureMerchant(name: "loja", now: .now)
        let key = try APIKeys.create(merchantId: merchant.id!, name: "second", store: store, now: .now)
        #expect(try await APIKeys.verify(key, store: store) != nil)
        let prefix = String(key.split(separator: "_")[1])
        #expect {
            _ = try store.revokeAPIKey(prefix: prefix, now: .now)
        } throws: { "\($0)".contains("revoked in the database, but running servers could not be told") }
        #expect(try await APIKeys.verify(key, store: store) == nil)
    }
}

