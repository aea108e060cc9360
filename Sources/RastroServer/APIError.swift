import Foundation
import Hummingbird
import RastroStore

/// A JSON error: `{"error": {"code": "...", "message": "...", "field": "..."}}` with its HTTP status.
public struct APIError: Error, HTTPResponseError, Sendable {
    private enum Kind: Sendable, Equatable {
        case unauthorized, notFound, validation, conflict, tooLarge, idempotencyMismatch, tooManyRequests, badRequest
        case storage(StoreError.StorageProblem)
    }

    private let kind: Kind
    public let message: String
    public let field: String?
    public let retryAfter: Int?

    private init(_ kind: Kind, _ message: String, field: String? = nil, retryAfter: Int? = nil) {
        self.kind = kind
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
    }

    public static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, message) }
    public static func notFound(_ what: String) -> APIError { APIError(.notFound, "\(what) not found") }
    public static func invalid(_ field: String, _ message: String) -> APIError { APIError(.validation, message, field: field) }
    public static func conflict(_ message: String) -> APIError { APIError(.conflict, message) }
    public static func tooLarge() -> APIError { APIError(.tooLarge, "the body is larger than \(APIServer.maxBody / 1024) KiB") }
    public static func idempotencyMismatch() -> APIError {
        APIError(.idempotencyMismatch, "this Idempotency-Key was used with a different request", field: "Idempotency-Key")
    }
    public static func tooManyRequests(_ message: String, retryAfter: Int) -> APIError { APIError(.tooManyRequests, message, retryAfter: retryAfter) }
    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    /// The database cannot take writes (disk full, read-only, I/O error): 503, try again later.
    /// The message names the cause but not the SQL (that detail goes to the log).
    public static func storage(_ problem: StoreError.StorageProblem) -> APIError {
        let message = switch problem {
        case .diskFull: "the server's disk is full: nothing of this request was recorded; try again later"
        case .readOnly: "the server's database is read-only: nothing of this request was recorded; try again later"
        case .ioError: "the server's disk failed: nothing of this request was recorded; try again later"
        }
        return APIError(.storage(problem), message, retryAfter: 30)
    }

    public var status: HTTPResponse.Status {
        switch kind {
        case .unauthorized: .unauthorized
        case .notFound: .notFound
        case .validation, .idempotencyMismatch: .unprocessableContent
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .tooManyRequests: .tooManyRequests
        case .badRequest: .badRequest
        case .storage: .serviceUnavailable
        }
    }

    var code: String {
        switch kind {
        case .unauthorized: "unauthorized"
        case .notFound: "not_found"
        case .validation: "invalid"
        case .idempotencyMismatch: "idempotency_key_reused"
        case .conflict: "conflict"
        case .tooLarge: "too_large"
        case .tooManyRequests: "too_many_requests"
        case .badRequest: "bad_request"
        case .storage(.diskFull): "disk_full"
        case .storage(.readOnly): "database_read_only"
        case .storage(.ioError): "storage_error"
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var error: [String: Any] = ["code": code, "message": message]
        if let field { error["field"] = field }
        let data = try JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys, .withoutEscapingSlashes])
        var headers: HTTPFields = [.contentType: "application/json"]
        if kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
