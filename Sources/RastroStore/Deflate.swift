import CZlib
import Foundation

/// zlib compression for stored carrier responses (JSON and XML shrink 5–10×).
enum Deflate {
    static func deflate(_ bytes: [UInt8]) -> Data {
        var capacity = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))
        let rc = bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                compress2(dst.baseAddress, &capacity, src.baseAddress, uLong(src.count), 6)
            }
        }
        precondition(rc == Z_OK, "compress2 cannot fail with a compressBound buffer (rc \(rc))")
        return Data(out.prefix(Int(capacity)))
    }

    static func inflate(_ data: Data, expectedSize: Int) throws -> [UInt8] {
        var size = uLong(expectedSize)
        var out = [UInt8](repeating: 0, count: max(expectedSize, 1))
        let input = [UInt8](data)
        let rc = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                uncompress(dst.baseAddress, &size, src.baseAddress, uLong(src.count))
            }
        }
        guard rc == Z_OK, Int(size) == expectedSize else { throw StoreError.invalid("stored response does not inflate (zlib \(rc))") }
        return Array(out.prefix(Int(size)))
    }
}
