import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a webhook may go. Receivers are the merchant's to configure, so a URL
/// could aim at the machine rastro runs on or its private network (SSRF): the
/// host is resolved here, every address is checked, and the request is pinned to
/// the checked address. Private and loopback targets need `allowPrivate`.
public enum WebhookTarget {
    public struct Refused: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The address to connect to for `url`, or why not.
    public static func check(_ url: String, allowPrivate: Bool) throws -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty else {
            throw Refused(message: "\(url) is not an http(s) URL")
        }
        let addresses = try resolve(host)
        guard let first = addresses.first else { throw Refused(message: "\(host) does not resolve") }
        if !allowPrivate, let blocked = addresses.first(where: isPrivate) {
            throw Refused(message: "\(host) resolves to \(blocked), a private or loopback address; set RASTRO_WEBHOOKS_ALLOW_PRIVATE=1 to allow it")
        }
        return first
    }

    static func resolve(_ host: String) throws -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), nil, &hints, &result)
        guard rc == 0 else { throw Refused(message: "\(host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(result) }
        var out: [String] = []
        var cursor = result
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !out.contains(text) { out.append(text) }
            }
            cursor = info.pointee.ai_next
        }
        return out
    }

    /// Loopback, private, link-local, CGNAT, unspecified and unique-local ranges (IPv4, IPv6, IPv4-mapped).
    public static func isPrivate(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            let b = withUnsafeBytes(of: v4.s_addr) { Array($0) }
            return isPrivateV4(b)
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return true }  // unreadable: refuse
        let b = withUnsafeBytes(of: v6) { Array($0) }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff { return isPrivateV4(Array(b[12..<16])) }
        if b[0..<15].allSatisfy({ $0 == 0 }) { return b[15] <= 1 }  // :: and ::1
        return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)  // fc00::/7, fe80::/10
    }

    static func isPrivateV4(_ b: [UInt8]) -> Bool {
        switch (b[0], b[1]) {
        case (0, _), (10, _), (127, _): return true
        case (169, 254), (192, 168): return true
        case (172, 16...31): return true
        case (100, 64...127): return true
        default: return false
        }
    }
}
