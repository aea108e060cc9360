import Hummingbird
import Logging
import RastroStore

/// Turns a write the database could not take (disk full, read-only, I/O error) into a
/// 503 with a JSON error naming the cause, and logs it: the client can retry later, the
/// operator has to free space or fix the disk. Nothing was written (one transaction).
struct StorageErrorMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let logger: Logger

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as StoreError {
            guard let problem = error.storageProblem else { throw error }
            logger.error("request not recorded: the database cannot take writes", metadata: [
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "problem": "\(problem.rawValue)", "error": "\(error)",
            ])
            throw APIError.storage(problem)
        }
    }
}
