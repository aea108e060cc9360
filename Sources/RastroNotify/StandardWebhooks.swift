import Crypto
import Foundation
import RastroCore

/// Signing and verifying per Standard Webhooks (https://www.standardwebhooks.com):
/// `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
/// secrets written `whsec_<base64 key>`.
public enum StandardWebhooks {
    /// Receivers should reject timestamps further than this from their clock (replays).
    public static let tolerance: Int64 = 300

    public static func newSecret(using rng: inout some RandomNumberGenerator) -> String {
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return "whsec_" + Data(bytes).base64EncodedString()
    }

    static func key(_ secret: String) throws -> SymmetricKey {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let data = Data(base64Encoded: encoded), !data.isEmpty else { throw VerificationError.badSecret }
        return SymmetricKey(data: data)
    }

    public static func signature(id: String, timestamp: Int64, body: [UInt8], secret: String) throws -> String {
        var signed = Array("\(id).\(timestamp).".utf8)
        signed.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: try key(secret))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The three headers for a delivery.
    public static func headers(id: String, timestamp: Int64, body: [UInt8], secret: String) throws -> [String: String] {
        ["webhook-id": id, "webhook-timestamp": String(timestamp),
         "webhook-signature": try signature(id: id, timestamp: timestamp, body: body, secret: secret)]
    }

    public enum VerificationError: Error, Sendable, Equatable {
        case missingHeaders, badSecret, timestampOutOfTolerance, noMatchingSignature
    }

    /// What a receiver does: the timestamp within ±5 minutes of `now`, then any `v1`
    /// signature of the space-separated list matching, compared in constant time.
    public static func verify(body: [UInt8], headers: [String: String], secret: String, now: Timestamp) throws {
        let h = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        guard let id = h["webhook-id"], let ts = h["webhook-timestamp"].flatMap({ Int64($0) }), let list = h["webhook-signature"] else {
            throw VerificationError.missingHeaders
        }
        guard abs(now.secondsSinceEpoch - ts) <= tolerance else { throw VerificationError.timestampOutOfTolerance }
        var signed = Array("\(id).\(ts).".utf8)
        signed.append(contentsOf: body)
        let key = try key(secret)
        for candidate in list.split(separator: " ") {
            let parts = candidate.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let mac = Data(base64Encoded: String(parts[1])) else { continue }
            if HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: key) { return }
        }
        throw VerificationError.noMatchingSignature
    }
}
