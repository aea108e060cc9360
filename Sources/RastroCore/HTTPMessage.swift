/// A request a carrier script describes; the transport performs it.
public struct HTTPRequest: Sendable, Hashable {
    public var method: String
    public var url: String
    /// Header names as the script wrote them.
    public var headers: [String: String]
    public var body: [UInt8]?
    /// Seconds; the transport applies its own cap.
    public var timeout: Double

    public init(method: String = "GET", url: String, headers: [String: String] = [:], body: [UInt8]? = nil, timeout: Double = 30) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// What came back. Header names are lowercased.
public struct HTTPResponse: Sendable, Hashable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
