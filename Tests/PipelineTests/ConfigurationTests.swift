import Foundation
import Ledger
import Pipeline
import Testing

@Suite("configuration")
struct ConfigurationTests {
    @Test("the shipped config/traceledger.yaml parses and equals the built-in defaults (its file paths name the same files, resolved against config/)")
    func shippedFileIsDefaults() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../config/traceledger.yaml"
        ).standardized.path
        let loaded = try Configuration.load(file: file, environment: [:])
        var expected = Configuration()
        let root = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
        expected.pricingFile = root.appendingPathComponent(expected.pricingFile).standardizedFileURL.path
        expected.budgetsFile = root.appendingPathComponent(expected.budgetsFile).standardizedFileURL.path
        #expect(loaded == expected)
    }

    @Test("TRACELEDGER_* variables override the file, with lists and maps in their env forms")
    func environmentOverrides() throws {
        let env = [
            "TRACELEDGER_KAFKA_BROKERS": "127.0.0.1:1,127.0.0.1:2",
            "TRACELEDGER_KAFKA_TOPICS": "a, b",
            "TRACELEDGER_KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500",
            "TRACELEDGER_FLUSH_MAX_SPANS": "5000",
            "TRACELEDGER_FLUSH_INTERVAL": "250ms",
            "TRACELEDGER_DATABASE_SCHEMA": "ledger_test",
            "TRACELEDGER_HTTP_PORT": "9999",
        ]
        let c = try Configuration.load(file: nil, environment: env)
        #expect(c.kafkaBrokers == "127.0.0.1:1,127.0.0.1:2")
        #expect(c.kafkaTopics == ["a", "b"])
        #expect(c.kafkaProperties == ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"])
        #expect(c.flushMaxSpans == 5000)
        #expect(c.flushInterval == .milliseconds(250))
        #expect(c.databaseSchema == "ledger_test")
        #expect(c.httpPort == 9999)
        #expect(Configuration.environmentName(of: "flush.max_inflight_epochs") == "TRACELEDGER_FLUSH_MAX_INFLIGHT_EPOCHS")
    }

    @Test("TRACELEDGER_KAFKA_PROPERTIES: a part without '=' continues the previous value (librdkafka lists), and \\, is a comma in a value")
    func propertyListsKeepCommaValues() throws {
        let c = try Configuration.load(file: nil, environment: [
            "TRACELEDGER_KAFKA_PROPERTIES": "debug=cgrp,topic,fetch, session.timeout.ms=6000,sasl.oauthbearer.config=scope=a\\,b=c"
        ])
        #expect(c.kafkaProperties == [
            "debug": "cgrp,topic,fetch", "session.timeout.ms": "6000", "sasl.oauthbearer.config": "scope=a,b=c",
        ])
        for bad in ["cgrp,debug=topic", "=5", "a=1,=2"] {
            do {
                _ = try Configuration.load(file: nil, environment: ["TRACELEDGER_KAFKA_PROPERTIES": bad])
                Issue.record("accepted TRACELEDGER_KAFKA_PROPERTIES=\(bad)")
            } catch {
                #expect(error.description.contains("TRACELEDGER_KAFKA_PROPERTIES"), "\(error)")
                #expect(error.description.contains("expected name=value"), "\(error)")
            }
        }
    }

    @Test("database timeouts: defaults, env overrides, and the Ledger session settings they become")
    func databaseTimeouts() throws {
        let defaults = Configuration()
        #expect(defaults.databaseConnectTimeout == .seconds(5))
        #expect(defaults.databaseStatementTimeout == .seconds(60))
        #expect(defaults.databaseLockTimeout == .seconds(10))
        #expect(defaults.databaseIdleInTransactionTimeout == .seconds(60))
        #expect(defaults.databaseKeepalivesIdle == .seconds(30))
        #expect(defaults.databaseKeepalivesInterval == .seconds(10))
        #expect(defaults.databaseKeepalivesCount == 3)
        let c = try Configuration.load(file: nil, environment: [
            "TRACELEDGER_DATABASE_CONNECT_TIMEOUT": "3s",
            "TRACELEDGER_DATABASE_STATEMENT_TIMEOUT": "2m",
            "TRACELEDGER_DATABASE_LOCK_TIMEOUT": "1500ms",
            "TRACELEDGER_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": "0s",
            "TRACELEDGER_DATABASE_KEEPALIVES_IDLE": "15s",
            "TRACELEDGER_DATABASE_KEEPALIVES_INTERVAL": "5s",
            "TRACELEDGER_DATABASE_KEEPALIVES_COUNT": "4",
        ])
        let s = c.databaseSession
        #expect(s.connectTimeout == .seconds(3))
        #expect(s.statementTimeout == .seconds(120))
        #expect(s.lockTimeout == .milliseconds(1500))
        #expect(s.idleInTransactionTimeout == .zero)
        #expect(s.keepalivesIdle == .seconds(15) && s.keepalivesInterval == .seconds(5) && s.keepalivesCount == 4)
        #expect(throws: ConfigurationError.self) {
            try Configuration.load(file: nil, environment: ["TRACELEDGER_DATABASE_LOCK_TIMEOUT": "10"])
        }
        #expect(throws: ConfigurationError.self) {
            try Configuration.load(file: nil, environment: ["TRACELEDGER_DATABASE_KEEPALIVES_COUNT": "-1"])
        }
    }

    @Test("kafka.properties in the file: numbers and booleans pass as strings; a list or map value is refused naming the property, never dropped")
    func filePropertiesAreScalarsOrRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.yaml")
        try "kafka:\n  properties:\n    session.timeout.ms: 6000\n    enable.partition.eof: false\n    debug: \"cgrp,fetch\"\n"
            .write(to: good, atomically: true, encoding: .utf8)
        let loaded = try Configuration.load(file: good.path, environment: [:])
        #expect(loaded.kafkaProperties["session.timeout.ms"] == "6000")
        #expect(loaded.kafkaProperties["enable.partition.eof"] == "false")
        #expect(loaded.kafkaProperties["debug"] == "cgrp,fetch")
        let bad = dir.appendingPathComponent("bad.yaml")
        try "kafka:\n  properties:\n    debug: [cgrp, fetch]\n".write(to: bad, atomically: true, encoding: .utf8)
        do {
            _ = try Configuration.load(file: bad.path, environment: [:])
            Issue.record("a list value under kafka.properties was accepted")
        } catch {
            #expect(error.description.contains("kafka.properties.debug"))
            #expect(error.description.contains("bad.yaml"))
        }
    }

    @Test("bad values are refused naming the key and where it came from")
    func refusals() {
        #expect(throws: ConfigurationError.self) {
            try Configuration.load(file: nil, environment: ["TRACELEDGER_FLUSH_MAX_SPANS": "-1"])
        }
        #expect(throws: ConfigurationError.self) {
            try Configuration.load(file: nil, environment: ["TRACELEDGER_DATABASE_SCHEMA": "x; drop table y"])
        }
        do {
            _ = try Configuration.load(file: nil, environment: ["TRACELEDGER_KAFKA_START": "middle"])
            Issue.record("accepted kafka.start=middle")
        } catch {
            #expect(error.description.contains("TRACELEDGER_KAFKA_START"))
            #expect(error.description.contains("kafka.start"))
        }
    }
}
