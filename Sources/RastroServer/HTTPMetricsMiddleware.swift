import CoreMetrics
import Hummingbird

/// `rastro_http_requests_total{route,status}`: one per request, by route
/// template (`/v1/shipments/{id}`, never the raw path, so ids don't become series)
/// and status code; requests that match no route count as `unmatched`.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let factory: any MetricsFactory

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            count(route: context.endpointPath, status: response.status.code)
            return response
        } catch {
            count(route: context.endpointPath, status: (error as? any HTTPResponseError)?.status.code ?? 500)
            throw error
        }
    }

    private func count(route: String?, status: Int) {
        Counter(label: "rastro_http_requests_total", dimensions: [("route", route ?? "unmatched"), ("status", String(status))], factory: factory)
            .increment()
    }
}
