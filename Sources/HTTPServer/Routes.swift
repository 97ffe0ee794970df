import Foundation
import Hummingbird
import NIOCore

/// The routes of the one HTTP port (docs/http-api.md), mapped onto ``LedgerAPI``, readiness and the
/// caller's metrics text. Handlers never block: database reads go to the read pool's threads.
enum Routes {
    /// Largest accepted request body (precommit), in bytes; larger → 413.
    static let bodyLimitBytes = 16 * 1024

    static func build(
        api: LedgerAPI, readiness: ReadinessTracker, pool: LedgerReadPoolProbe,
        metricsText: @escaping @Sendable (_ openMetrics: Bool) -> String
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in
            response(.json(200, .object([("status", .string("ok"))])))
        }
        router.get("/readyz") { _, _ in
            if let reason = readiness.notReadyReason(databaseError: pool.lastProbeError()) {
                return response(.json(503, .object([("ready", .bool(false)), ("reason", .string(reason))])))
            }
            return response(.json(200, .object([("ready", .bool(true))])))
        }
        router.get("/metrics") { request, _ in
            let accept = request.headers[.accept] ?? ""
            let openMetrics = accept.contains("application/openmetrics-text")
            return response(
                APIResponse(
                    status: 200, body: metricsText(openMetrics),
                    contentType: openMetrics
                        ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                        : "text/plain; version=0.0.4; charset=utf-8"))
        }
        router.get("/v1/transactions/:trace_id") { _, context in
            response(await api.transaction(context.parameters.get("trace_id") ?? ""))
        }
        router.get("/v1/sessions/:id") { _, context in
            guard let id = decodedSegment(context.parameters.get("id")) else {
                return response(.error(400, "session id is not valid percent-encoded UTF-8"))
            }
            return response(await api.session(id))
        }
        router.post("/v1/sessions/:id/precommit") { request, context in
            guard let id = decodedSegment(context.parameters.get("id")) else {
                return response(.error(400, "session id is not valid percent-encoded UTF-8"))
            }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: bodyLimitBytes)
            } catch is NIOTooManyBytesError {
                return response(.error(413, "request body over \(bodyLimitBytes) bytes"))
            } catch {
                return response(.error(400, "cannot read the request body"))
            }
            return response(await api.precommit(id, body: Array(body.readableBytesView)))
        }
        router.get("/v1/domains") { request, _ in
            response(await api.domains(window: request.uri.queryParameters.get("window").map { String($0) }))
        }
        router.get("/v1/models") { request, _ in
            response(await api.models(window: request.uri.queryParameters.get("window").map { String($0) }))
        }
        return router
    }

    /// A path segment, percent-decoded (Hummingbird hands it over raw); nil when not valid UTF-8.
    static func decodedSegment(_ raw: String?) -> String? {
        guard let raw else { return "" }
        guard raw.contains("%") else { return raw }
        return raw.removingPercentEncoding
    }

    static func response(_ r: APIResponse) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = r.contentType
        if let retry = r.retryAfterSeconds { headers[.retryAfter] = "\(retry)" }
        headers[.cacheControl] = "no-store"
        return Response(
            status: HTTPResponse.Status(code: r.status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: r.body)))
    }
}

/// The read pool's last probe outcome, as a closure (so that tests can stand in for it).
struct LedgerReadPoolProbe: Sendable {
    var lastProbeError: @Sendable () -> String?
}
