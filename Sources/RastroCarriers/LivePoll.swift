import RastroCore
import RastroTransport

/// One live poll: auth (when the carrier has it), request, parse.
///
/// Used by `rastro track`; the scheduler builds on the same steps.
public struct LivePoll {
    public let carrier: CarrierScript
    public let client: CurlHTTPClient
    public let config: [String: String]

    public init(carrier: CarrierScript, client: CurlHTTPClient, config: [String: String]) {
        self.carrier = carrier
        self.client = client
        self.config = config
    }

    public func track(_ codes: [String], now: Timestamp) async throws -> ParseOutput {
        let policy = CarrierConfig.egressPolicy(for: carrier.definition, config: config)
        var context = CarrierContext(now: now)
        if carrier.definition.hasAuth {
            let authRequest = try carrier.authRequest(config: config, context: context)
            let authResponse = try await client.perform(authRequest, policy: policy)
            switch try carrier.parseAuth(authResponse, config: config, context: context) {
            case .success(let token): context.token = token.token
            case .failure(let failure): return .whole(failure)
            }
        }
        let request = try carrier.request(codes: codes, config: config, context: context)
        let response = try await client.perform(request, policy: policy)
        return try carrier.parse(response, codes: codes, context: context)
    }
}
