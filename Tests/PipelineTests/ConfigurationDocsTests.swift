import Foundation
import Pipeline
import Testing
import TestSupport

private func text(_ relative: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent(relative), encoding: .utf8)
}

@Suite("configuration documentation")
struct ConfigurationDocsTests {
    @Test("every known configuration key is documented in docs/configuration.md with its environment variable")
    func everyKeyInDocs() throws {
        let doc = try text("docs/configuration.md")
        for key in Configuration.keys {
            #expect(doc.contains("| `\(key)` |"), "docs/configuration.md has no row for \(key)")
            #expect(doc.contains("`\(Configuration.environmentName(of: key))`"), "docs/configuration.md lacks \(Configuration.environmentName(of: key))")
        }
    }

    @Test("every known configuration key is shown in config/traceledger.yaml")
    func everyKeyInShippedYAML() throws {
        let lines = try text("config/traceledger.yaml").split(separator: "\n", omittingEmptySubsequences: false)
        var section = ""
        var shown: Set<String> = []
        for line in lines where !line.hasPrefix("#") {
            if let first = line.first, first != " ", let colon = line.firstIndex(of: ":") {
                section = String(line[..<colon])
            } else if line.hasPrefix("  "), !line.hasPrefix("   "), let colon = line.firstIndex(of: ":") {
                let name = line[line.index(line.startIndex, offsetBy: 2)..<colon]
                if !name.hasPrefix("#") { shown.insert("\(section).\(name)") }
            }
        }
        for key in Configuration.keys {
            #expect(shown.contains(key), "config/traceledger.yaml does not show \(key)")
        }
    }

    @Test("docs/ links in the README and the docs index resolve to files in the repository")
    func linksResolve() throws {
        for (file, base) in [("README.md", ""), ("docs/README.md", "docs/"), ("docs/ledger.md", "docs/"), ("docs/architecture.md", "docs/"), ("docs/pricing.md", "docs/"), ("docs/configuration.md", "docs/")] {
            let body = try text(file)
            // Markdown links to local .md files: ](path.md) or ](path.md#anchor)
            let pattern = try Regex(#"\]\(([A-Za-z0-9_./-]+\.md)(#[^)]*)?\)"#)
            for match in body.matches(of: pattern) {
                guard let target = match.output[1].substring.map(String.init) else { continue }
                // Pages other engineers write (HTTP API, metrics) are checked once they exist.
                if target.hasSuffix("http-api.md") || target.hasSuffix("metrics.md") { continue }
                let path = repositoryRoot.appendingPathComponent(base + target).standardizedFileURL.path
                #expect(FileManager.default.fileExists(atPath: path), "\(file) links to \(target), which does not exist")
            }
        }
    }

    @Test("no source comment or README cites the design notes outside the repository")
    func noExternalDesignCitations() throws {
        var offenders: [String] = []
        let roots = ["Sources", "README.md", "config", "Package.swift"]
        for root in roots {
            let url = repositoryRoot.appendingPathComponent(root)
            var files: [URL] = []
            if let e = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) {
                for case let f as URL in e where ["swift", "md", "yaml", "proto"].contains(f.pathExtension) { files.append(f) }
            } else {
                files = [url]
            }
            for f in files {
                let body = (try? String(contentsOf: f, encoding: .utf8)) ?? ""
                for name in ["CONTRACTS.md", "ARCHITECTURE.md", "REFERENCE.md", "shared/design"] where body.contains(name) {
                    offenders.append("\(f.lastPathComponent): \(name)")
                }
            }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }
}

@Suite("configuration file paths")
struct ConfigurationPathTests {
    @Test("relative pricing.file and budgets.file in a config file resolve against the file's directory; env values stay as given")
    func relativeToConfigFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tl-conf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("worker.yaml")
        try "pricing:\n  file: prices/p.yaml\nbudgets:\n  file: /etc/b.yaml\n".write(to: file, atomically: true, encoding: .utf8)
        let c = try Configuration.load(file: file.path, environment: [:])
        #expect(c.pricingFile == dir.appendingPathComponent("prices/p.yaml").standardizedFileURL.path)
        #expect(c.budgetsFile == "/etc/b.yaml")
        let e = try Configuration.load(file: file.path, environment: ["TRACELEDGER_PRICING_FILE": "rel/p.yaml"])
        #expect(e.pricingFile == "rel/p.yaml")
        let defaults = try Configuration.load(file: nil, environment: [:])
        #expect(defaults.pricingFile == "config/pricing.yaml")
    }

    @Test("an unreadable file's message names the key and its environment variable")
    func unreadableNamesKey() {
        let m = Configuration.unreadableFileMessage(key: "pricing.file", path: "config/pricing.yaml")
        #expect(m.contains("config/pricing.yaml"))
        #expect(m.contains("pricing.file"))
        #expect(m.contains("TRACELEDGER_PRICING_FILE"))
    }
}
