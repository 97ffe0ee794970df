/// One answer of the API before it becomes an HTTP response: a status and a JSON body (or plain text).
///
/// Guarantees: error answers carry `{"error": "…"}`; `retryAfterSeconds` is set on 503s caused by load.
struct APIResponse: Sendable {
    var status: Int
    var body: String
    var contentType = "application/json"
    var retryAfterSeconds: Int?

    static func json(_ status: Int, _ value: JSONValue) -> APIResponse {
        APIResponse(status: status, body: value.serialized)
    }

    static func error(_ status: Int, _ message: String, retryAfterSeconds: Int? = nil) -> APIResponse {
        APIResponse(
            status: status, body: JSONValue.object([("error", .string(message))]).serialized,
            retryAfterSeconds: retryAfterSeconds)
    }
}

/// A request the API refuses, with the status it answers (400 bad input, 404 unknown, 413 too large).
struct APIRequestError: Error, Sendable {
    var status: Int
    var message: String
    static func badRequest(_ message: String) -> APIRequestError { APIRequestError(status: 400, message: message) }
    static func notFound(_ message: String) -> APIRequestError { APIRequestError(status: 404, message: message) }
}
