import Crypto
import Foundation
import RastroCore
import RastroStore
import Synchronization

/// API keys: `rk_<prefix>_<secret>`. The prefix finds the row; only SHA-256 of the whole
/// key is stored (keys are 128-bit random, so a fast hash is enough), compared in constant time.
public enum APIKeys {
    public static func generate(using rng: inout some RandomNumberGenerator) -> (key: String, prefix: String, hash: [UInt8]) {
        func hex(_ n: Int) -> String { (0..<n).map { _ in String(UInt8.random(in: 0...255, using: &rng), radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined() }
        let prefix = hex(6), secret = hex(16)
        let key = "rk_\(prefix)_\(secret)"
        return (key, prefix, hash(key))
    }

    public static func hash(_ key: String) -> [UInt8] { Array(SHA256.hash(data: Array(key.utf8))) }

    static func prefix(of key: String) -> String? {
        let parts = key.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "rk", parts[1].count == 12, parts[2].count == 32 else { return nil }
        return String(parts[1])
    }

    /// The key's record, if the key is real and not revoked. With a cache, a key read
    /// before is not read again while the store's `apiKeysVersion` stays the same.
    static func verify(_ key: String, store: Store, cache: APIKeyCache? = nil,
                       now: ContinuousClock.Instant = .now) async throws -> APIKey? {
        guard let prefix = prefix(of: key) else { return nil }
        // Taken before the read: a change after it shows as a new version on the next request.
        let version = cache != nil ? store.apiKeysVersion() : nil
        let record: APIKey
        if let cached = cache?.record(prefix: prefix, version: version, now: now) {
            record = cached
        } else {
            guard let read = try await store.apiKey(prefix: prefix), read.revokedAt == nil else { return nil }
            cache?.keep(read, version: version, now: now)
            record = read
        }
        // The secret is checked on every request, cached record or not.
        let given = hash(key)
        guard given.count == record.hash.count else { return nil }
        var difference: UInt8 = 0
        for (a, b) in zip(given, record.hash) { difference |= a ^ b }  // every byte, whatever the first mismatch
        return difference == 0 ? record : nil
    }

    /// A new key for a merchant (nil: operator); returns the key to show once.
    public static func create(merchantId: Int64?, name: String, store: Store, now: Timestamp) throws -> String {
        var rng = SystemRandomNumberGenerator()
        let generated = generate(using: &rng)
        _ = try store.addAPIKey(merchantId: merchantId, name: name, prefix: generated.prefix, hash: generated.hash, now: now)
        return generated.key
    }
}

/// API keys a server has read, so a request does not read its key again.
///
/// Kept while the store's `apiKeysVersion` is the one they were read under (any
/// process adding or revoking a key changes it) and for at most
/// `Store.apiKeyCacheLifetime`. Only live keys are kept: an unknown or revoked
/// key is read every time. Holds rows (prefix and SHA-256), never a key.
final class APIKeyCache: Sendable {
    private struct State {
        var version: Store.APIKeysVersion?
        var keys: [String: (key: APIKey, readAt: ContinuousClock.Instant)] = [:]
    }
    private let state = Mutex(State())
    /// Past this many keys the cache starts over, so a flood of valid keys cannot grow it.
    let capacity: Int

    init(capacity: Int = 10_000) { self.capacity = capacity }

    func record(prefix: String, version: Store.APIKeysVersion?, now: ContinuousClock.Instant) -> APIKey? {
        state.withLock { s in
            guard s.version == version else {
                s = State(version: version)
                return nil
            }
            guard let hit = s.keys[prefix], now - hit.readAt < Store.apiKeyCacheLifetime else { return nil }
            return hit.key
        }
    }

    func keep(_ key: APIKey, version: Store.APIKeysVersion?, now: ContinuousClock.Instant) {
        state.withLock { s in
            // Read under another version than the cache holds now: not kept.
            guard s.version == version else { return }
            if s.keys.count >= capacity { s.keys = [:] }
            s.keys[key.prefix] = (key, now)
        }
    }
}
