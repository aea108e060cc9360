/// The OpenAPI 3 description of the API (served at /openapi.json; a test validates it
/// and checks that every route of `APIServer.routes` is in it). The tables are
/// immutable constants built once; `nonisolated(unsafe)` only because [String: Any] is not Sendable.
enum OpenAPIDocument {
    nonisolated(unsafe) static let errorResponse: [String: Any] = ["description": "An error", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
    static func ok(_ description: String, _ schema: String) -> [String: Any] {
        ["description": description, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]]]
    }
    static func body(_ schema: String) -> [String: Any] {
        ["required": true, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]]]
    }
    nonisolated(unsafe) static let errors: [String: Any] = ["401": errorResponse, "404": errorResponse, "413": errorResponse, "422": errorResponse, "503": errorResponse]
    nonisolated(unsafe) static let idParameter: [String: Any] = ["name": "id", "in": "path", "required": true, "schema": ["type": "integer", "format": "int64"]]
    nonisolated(unsafe) static let idempotencyKey: [String: Any] = [
        "name": "Idempotency-Key", "in": "header", "required": false, "schema": ["type": "string", "maxLength": 200],
        "description": "Same key and body: the first response again. Same key, other body: 422.",
    ]
    static func merge(_ a: [String: Any], _ b: [String: Any]) -> [String: Any] { a.merging(b) { x, _ in x } }
    nonisolated(unsafe) static let nullableString: [String: Any] = ["type": "string", "nullable": true]

    nonisolated(unsafe) static let document: [String: Any] = [
        "openapi": "3.0.3",
        "info": ["title": "rastro", "version": "1.0.0",
                 "description": "Self-hosted shipment tracking: shipments, their timelines, and the platform-compatible tracking push."],
        "servers": [["url": "http://127.0.0.1:8080"]],
        "components": [
            "securitySchemes": ["apiKey": ["type": "http", "scheme": "bearer", "description": "rk_<prefix>_<secret>, from `rastro merchant key`"]],
            "schemas": [
                "Error": ["type": "object", "required": ["error"], "properties": ["error": ["type": "object", "required": ["code", "message"],
                          "properties": ["code": ["type": "string"], "message": ["type": "string"], "field": ["type": "string"]]]]],
                "Event": ["type": "object", "properties": ["occurredAt": ["type": "string", "format": "date-time"], "localTime": ["type": "string"],
                          "status": ["type": "string"], "code": ["type": "string"], "description": ["type": "string"],
                          "location": ["type": "object", "additionalProperties": true]]],
                "Shipment": ["type": "object", "required": ["id", "carrier", "trackingNumber", "status"], "properties": [
                    "id": ["type": "integer", "format": "int64"], "orderId": nullableString, "invoiceNumber": nullableString,
                    "carrier": ["type": "string"], "trackingNumber": ["type": "string"], "trackingUrl": nullableString,
                    "status": ["type": "string", "enum": ["pending", "info_received", "in_transit", "out_for_delivery", "available_for_pickup",
                                                          "attempt_failed", "delivered", "exception", "returned_to_sender", "expired"]],
                    "customer": ["type": "object", "properties": ["email": nullableString, "name": nullableString, "locale": nullableString]],
                    "marketplaceEndpoint": nullableString, "dispatchedAt": ["type": "string", "format": "date-time"],
                    "createdAt": ["type": "string", "format": "date-time"], "statusChangedAt": ["type": "string", "format": "date-time"],
                    "estimatedDelivery": nullableString, "deliveredAt": nullableString, "nextPollAt": nullableString, "lastPolledAt": nullableString,
                    "lastOutcome": nullableString, "expiryReason": nullableString, "cancelledAt": nullableString,
                    "timeline": ["type": "array", "items": ["$ref": "#/components/schemas/Event"]],
                ]],
                "ShipmentList": ["type": "object", "properties": ["shipments": ["type": "array", "items": ["$ref": "#/components/schemas/Shipment"]],
                                                                   "next": ["type": "integer", "nullable": true]]],
                "NewShipment": ["type": "object", "required": ["trackingNumber"], "properties": [
                    "trackingNumber": ["type": "string", "maxLength": 60], "carrier": ["type": "string", "description": "Detected from the number when absent."],
                    "orderId": ["type": "string"], "invoiceNumber": ["type": "string"],
                    "customer": ["type": "object", "properties": ["email": ["type": "string"], "name": ["type": "string"], "locale": ["type": "string"]]],
                    "dispatchedAt": ["type": "string"], "marketplaceEndpoint": ["type": "string"],
                ]],
                "Delivery": ["type": "object", "required": ["by"], "properties": ["by": ["type": "string"], "at": ["type": "string", "format": "date-time"]]],
                "PollAccepted": ["type": "object", "properties": ["id": ["type": "integer"], "pollAt": ["type": "string", "format": "date-time"]]],
                "TrackingPush": ["type": "object", "properties": [
                    "isDelivered": ["type": "boolean"], "deliveredDate": ["type": "string", "nullable": true, "example": "2024-03-14 15:42"],
                    "events": ["type": "array", "items": ["type": "object", "required": ["description", "date"], "properties": [
                        "city": ["type": "string"], "state": ["type": "string"], "description": ["type": "string"], "date": ["type": "string"]]]],
                ]],
                "Invoice": ["type": "object", "required": ["invoiceNumber", "trackingNumber"], "properties": [
                    "invoiceNumber": ["type": "string"], "courier": ["type": "string"], "trackingNumber": ["type": "string"],
                    "trackingUrl": ["type": "string"], "dispatchedDate": ["type": "string"], "type": ["type": "string"],
                ]],
                "Receipt": ["type": "object", "required": ["date", "orderId", "receipt"], "properties": [
                    "date": ["type": "string", "format": "date-time"], "orderId": ["type": "string"], "receipt": ["type": "string"]]],
                "Carriers": ["type": "object", "properties": ["carriers": ["type": "array", "items": ["type": "object", "additionalProperties": true]]]],
                "Health": ["type": "object", "properties": ["status": ["type": "string"], "database": ["type": "string"], "carriers": ["type": "integer"]]],
            ],
        ],
        "security": [["apiKey": [String]()]],
        "paths": [
            "/health": ["get": ["summary": "Liveness and database state", "security": [[String: Any]](),
                                "responses": ["200": ok("Healthy", "Health"), "503": ok("Degraded", "Health")]]],
            "/metrics": ["get": ["summary": "Prometheus metrics (text exposition format); no key: bind to loopback or firewall it",
                                 "security": [[String: Any]](),
                                 "responses": ["200": ["description": "Metrics, rastro_* (see docs/operations.md)",
                                                       "content": ["text/plain": ["schema": ["type": "string"]]]],
                                               "404": ["description": "Metrics are disabled ([metrics] enabled = false)"]]]],
            "/openapi.json": ["get": ["summary": "This document", "security": [[String: Any]](),
                                      "responses": ["200": ["description": "OpenAPI 3 document", "content": ["application/json": ["schema": ["type": "object"]]]]]]],
            "/v1/shipments": [
                "post": ["summary": "Register a shipment; its first poll is due at once", "parameters": [idempotencyKey],
                         "requestBody": body("NewShipment"), "responses": merge(["201": ok("Registered", "Shipment"), "409": errorResponse], errors)],
                "get": ["summary": "List the caller's shipments, newest first", "parameters": [
                    ["name": "orderId", "in": "query", "schema": ["type": "string"]], ["name": "invoiceNumber", "in": "query", "schema": ["type": "string"]],
                    ["name": "status", "in": "query", "schema": ["type": "string"]], ["name": "carrier", "in": "query", "schema": ["type": "string"]],
                    ["name": "limit", "in": "query", "schema": ["type": "integer", "minimum": 1, "maximum": 500]],
                    ["name": "before", "in": "query", "schema": ["type": "integer"], "description": "The `next` of the previous page."],
                ], "responses": merge(["200": ok("A page", "ShipmentList")], errors)],
            ],
            "/v1/shipments/{id}": ["get": ["summary": "A shipment with its timeline", "parameters": [idParameter],
                                           "responses": merge(["200": ok("The shipment", "Shipment")], errors)]],
            "/v1/shipments/{id}/poll": ["post": ["summary": "Poll now (cooldown: 429 with Retry-After)", "parameters": [idParameter],
                                                 "responses": merge(["202": ok("Due now", "PollAccepted"), "409": errorResponse, "429": errorResponse], errors)]],
            "/v1/shipments/{id}/delivered": ["post": ["summary": "Confirm delivery by hand", "parameters": [idParameter, idempotencyKey],
                                                      "requestBody": body("Delivery"), "responses": merge(["200": ok("Delivered", "Shipment")], errors)]],
            "/v1/shipments/{id}/cancel": ["post": ["summary": "Stop tracking", "parameters": [idParameter],
                                                   "responses": merge(["200": ok("Cancelled", "Shipment")], errors)]],
            "/v1/carriers": ["get": ["summary": "Carriers with their recent poll outcomes", "responses": merge(["200": ok("Carriers", "Carriers")], errors)]],
            "/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}/tracking": ["put": [
                "summary": "Update Order Tracking Status (platform-compatible push)",
                "parameters": [["name": "orderId", "in": "path", "required": true, "schema": ["type": "string"]],
                               ["name": "invoiceNumber", "in": "path", "required": true, "schema": ["type": "string"]], idempotencyKey],
                "requestBody": body("TrackingPush"), "responses": merge(["200": ok("Recorded", "Receipt")], errors)]],
            "/api/oms/pvt/orders/{orderId}/invoice": ["post": [
                "summary": "Invoice with tracking (registers the shipment)",
                "parameters": [["name": "orderId", "in": "path", "required": true, "schema": ["type": "string"]], idempotencyKey],
                "requestBody": body("Invoice"), "responses": merge(["200": ok("Registered", "Receipt"), "409": errorResponse], errors)]],
        ],
    ]
}
