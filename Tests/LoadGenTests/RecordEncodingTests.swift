import Foundation
import OTLPProto
import SwiftProtobuf
import Testing

@testable import LoadGen

@Suite("Record placement and OTLP/JSON encoding")
struct RecordEncodingTests {
    @Test("keyless SDK records: partition from the traceparent trace id, even over the partitions; keyed records: nil")
    func placement() throws {
        var sdk = try generator(.sdk, poison: 0)
        let records = try sdk.generate(traces: 2_000)
        var perPartition = [Int](repeating: 0, count: 16)
        var partitionOfTrace: [Substring: Int32] = [:]
        for r in records {
            let p = try #require(r.partition(among: 16))
            perPartition[Int(p)] += 1
            let tp = String(decoding: r.headers.first { $0.name == "traceparent" }!.value, as: UTF8.self)
            let id = tp.dropFirst(3).prefix(32)
            #expect(partitionOfTrace[id, default: p] == p, "a trace's records share a partition")
            partitionOfTrace[id] = p
        }
        let mean = Double(records.count) / 16
        #expect(perPartition.allSatisfy { Double($0) > mean * 0.7 && Double($0) < mean * 1.3 }, "\(perPartition)")
        var collector = try generator(.collector, poison: 0)
        #expect(try collector.generate(traces: 50).allSatisfy { $0.partition(among: 16) == nil })
    }

    @Test("OTLP/JSON: same spans, hex ids, a content-type header; poison records unchanged", arguments: TrafficConfiguration.Shape.allCases)
    func json(shape: TrafficConfiguration.Shape) throws {
        var g = try generator(shape, poison: 0.05)
        for r in try g.generate(traces: 100) {
            let j = r.encoded(as: .json)
            #expect(r.encoded(as: .protobuf) == r)
            guard case .accepted(let spans) = r.expected else {
                #expect(j == r)
                continue
            }
            #expect(j.key == r.key)
            #expect(j.headers == r.headers + [RecordHeader(name: "content-type", value: Array("application/json".utf8))])
            let proto = try OTLPExportTraceServiceRequest(serializedBytes: r.value)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(j.value)) as? [String: Any])
            let resourceSpans = try #require(object["resourceSpans"] as? [[String: Any]])
            var jsonSpans: [[String: Any]] = []
            for rs in resourceSpans {
                for ss in try #require(rs["scopeSpans"] as? [[String: Any]]) {
                    jsonSpans += try #require(ss["spans"] as? [[String: Any]])
                }
            }
            let protoSpans = proto.resourceSpans.flatMap { $0.scopeSpans.flatMap(\.spans) }
            #expect(jsonSpans.count == spans && protoSpans.count == spans)
            for (js, ps) in zip(jsonSpans, protoSpans) {
                #expect(js["traceId"] as? String == ps.traceID.map { String(format: "%02x", $0) }.joined())
                #expect(js["spanId"] as? String == ps.spanID.map { String(format: "%02x", $0) }.joined())
                #expect(js["name"] as? String == ps.name)
                #expect(js["startTimeUnixNano"] as? String == String(ps.startTimeUnixNano))
                #expect((js["attributes"] as? [Any])?.count == ps.attributes.count)
            }
        }
    }
}
