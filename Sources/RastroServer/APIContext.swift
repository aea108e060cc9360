import Hummingbird

/// The request context of the API: who is calling, once the key is checked.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller's merchant; nil for the operator key (cross-merchant reads) and before auth.
    public var merchantId: Int64?
    public var isOperator = false

    public init(source: Source) { coreContext = .init(source: source) }

    /// Bodies over 64 KiB are refused with 413; `Content-Length` is checked before reading.
    public var maxUploadSize: Int { APIServer.maxBody }
}
