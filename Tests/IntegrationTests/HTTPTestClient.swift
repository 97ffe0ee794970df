import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real HTTP client for the API tests (URLSession over a socket), with JSON helpers.
struct HTTPReply: @unchecked Sendable {  // Safe: `json` is built once and only read.
    var status: Int
    var contentType: String
    var body: Data
    var json: [String: Any]

    var text: String { String(decoding: body, as: UTF8.self) }

    func string(_ key: String) -> String? { json[key] as? String }

    /// An integer field: a JSON number, or a decimal string (beyond 2^53).
    func int(_ key: String) -> Int64? { Self.int(json[key]) }

    static func int(_ value: Any?) -> Int64? {
        switch value {
        case let v as Int: return Int64(v)
        case let v as Int64: return v
        case let v as String: return Int64(v)
        case let v as NSNumber: return v.int64Value
        default: return nil
        }
    }
}

struct HTTPTestError: Error, CustomStringConvertible {
    var description: String
}

enum HTTPTestClient {
    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 30
        c.httpMaximumConnectionsPerHost = 8
        return URLSession(configuration: c)
    }()

    static func request(
        _ method: String, _ url: String, body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> HTTPReply {
        guard let u = URL(string: url) else { throw HTTPTestError(description: "bad URL \(url)") }
        var r = URLRequest(url: u)
        r.httpMethod = method
        r.httpBody = body
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        let request = r
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPReply, any Error>) in
            let task = session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                    return
                }
                guard let http = response as? HTTPURLResponse else {
                    continuation.resume(throwing: HTTPTestError(description: "no HTTP response for \(url)"))
                    return
                }
                let data = data ?? Data()
                let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
                continuation.resume(
                    returning: HTTPReply(
                        status: http.statusCode,
                        contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "", body: data, json: json))
            }
            task.resume()
        }
    }

    static func get(_ url: String, headers: [String: String] = [:]) async throws -> HTTPReply {
        try await request("GET", url, headers: headers)
    }

    static func post(_ url: String, json: String) async throws -> HTTPReply {
        try await request("POST", url, body: Data(json.utf8), headers: ["Content-Type": "application/json"])
    }
}

/// USD text of an integer nano-USD amount, computed independently of the API's formatter (printf).
func independentUSD(_ nanos: Int64) -> String {
    let magnitude = nanos.magnitude
    return (nanos < 0 ? "-" : "") + String(format: "%llu.%09llu", magnitude / 1_000_000_000, magnitude % 1_000_000_000)
}
