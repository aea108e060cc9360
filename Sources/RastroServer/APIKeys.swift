import Crypto
import Foundation
import RastroCore
import RastroStore

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

    /// The key's record, if the key is real and not revoked.
    static func verify(_ key: String, store: Store) async throws -> APIKey? {
        guard let prefix = prefix(of: key), let record = try await store.apiKey(prefix: prefix), record.revokedAt == nil else { return nil }
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
