/// A strict parser of the Prometheus text format 0.0.4 and OpenMetrics 1.0 text, for tests: it
/// refuses what a scraper would refuse (bad names, bad escapes, unparsable values, a sample before or
/// outside its family's `# TYPE`, a family split in two, a duplicate series, exemplars in Prometheus
/// text, an OpenMetrics document without a final `# EOF`, OpenMetrics counter samples not named
/// `<family>_total`, a counter family named `…_total` in OpenMetrics). Independent of the renderer
/// (it shares no code with it), so tests can check an exposition without Python or a Prometheus server.
public struct ParsedExposition: Sendable {
    /// One sample line: metric name, labels (unescaped), value, and its exemplar (OpenMetrics only).
    public struct Sample: Equatable, Sendable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
        public var exemplar: Exemplar?
    }
    /// An exemplar after ` # `: its labels and value.
    public struct Exemplar: Equatable, Sendable {
        public var labels: [String: String]
        public var value: Double
        public init(labels: [String: String], value: Double) {
            self.labels = labels
            self.value = value
        }
    }
    /// A metric family: its `# TYPE` name and type, `# HELP` text, and samples in document order.
    public struct Family: Sendable {
        public var name: String
        public var type: String
        public var help: String?
        public var samples: [Sample] = []
    }
    /// Where and why the text is refused.
    public struct ParseError: Error, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var text: String
        public var description: String { "line \(line): \(reason): \(text)" }
    }

    /// Families by the name of their `# TYPE` line.
    public var families: [String: Family] = [:]

    /// All samples of every family.
    public var samples: [Sample] { families.values.flatMap(\.samples) }

    /// The value of the one sample named `name` with exactly `labels`, if present.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// Every sample named `name`.
    public func samples(named name: String) -> [Sample] { samples.filter { $0.name == name } }

    public init(parsing text: String, openMetrics: Bool) throws(ParseError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // A final newline is required; it leaves one empty element.
        guard lines.last == "" else { throw ParseError(line: lines.count, reason: "no final newline", text: lines.last ?? "") }
        var current: String?
        var closed: Set<String> = []
        var seenSeries: Set<String> = []
        var sawEOF = false
        for (i, line) in lines.dropLast().enumerated() {
            let n = i + 1
            func fail(_ reason: String) -> ParseError { ParseError(line: n, reason: reason, text: line) }
            if sawEOF { throw fail("content after # EOF") }
            if line.isEmpty {
                if openMetrics { throw fail("empty line") }
                continue
            }
            if line.hasPrefix("#") {
                if line == "# EOF" {
                    guard openMetrics else { throw fail("# EOF in Prometheus text") }
                    sawEOF = true
                    continue
                }
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 3, parts[0] == "#" else {
                    if openMetrics { throw fail("comment") }
                    continue
                }
                let keyword = parts[1]
                let name = parts[2]
                guard keyword == "HELP" || keyword == "TYPE" else {
                    if openMetrics { throw fail("unknown descriptor") }
                    continue
                }
                guard Self.isMetricName(name) else { throw fail("bad metric name") }
                if name != current {
                    if let c = current { closed.insert(c) }
                    guard !closed.contains(name) else { throw fail("family \(name) split in two") }
                    current = name
                }
                var family = families[name] ?? Family(name: name, type: "untyped")
                guard family.samples.isEmpty else { throw fail("descriptor after samples") }
                if keyword == "TYPE" {
                    let type = parts.count > 3 ? parts[3] : ""
                    let allowed = openMetrics
                        ? ["counter", "gauge", "histogram", "summary", "unknown", "stateset", "info", "gaugehistogram"]
                        : ["counter", "gauge", "histogram", "summary", "untyped"]
                    guard allowed.contains(type) else { throw fail("bad type") }
                    guard family.type == "untyped" else { throw fail("second TYPE") }
                    if openMetrics, type == "counter", name.hasSuffix("_total") {
                        throw fail("OpenMetrics counter family named with _total")
                    }
                    family.type = type
                } else {
                    guard family.help == nil else { throw fail("second HELP") }
                    family.help = try Self.unescape(parts.count > 3 ? parts[3] : "", quotes: openMetrics, line: n)
                }
                families[name] = family
                continue
            }
            let sample = try Self.parseSample(line, line: n, openMetrics: openMetrics)
            guard let familyName = current, var family = families[familyName] else {
                throw fail("sample without a family (# TYPE)")
            }
            guard Self.belongs(sample.name, to: familyName, type: family.type, openMetrics: openMetrics) else {
                throw fail("sample \(sample.name) outside its family \(familyName) (\(family.type))")
            }
            let key = sample.name + "{" + sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
            guard seenSeries.insert(key).inserted else { throw fail("duplicate series") }
            if let e = sample.exemplar {
                guard openMetrics else { throw fail("exemplar in Prometheus text") }
                guard sample.name.hasSuffix("_total") || sample.name.hasSuffix("_bucket") else {
                    throw fail("exemplar on a sample that cannot carry one")
                }
                let size = e.labels.reduce(0) { $0 + $1.key.unicodeScalars.count + $1.value.unicodeScalars.count }
                guard size <= 128 else { throw fail("exemplar labels over 128 characters") }
            }
            if family.type == "counter", sample.value < 0 { throw fail("negative counter") }
            family.samples.append(sample)
            families[familyName] = family
        }
        if openMetrics, !sawEOF { throw ParseError(line: lines.count, reason: "no # EOF", text: "") }
    }

    static func belongs(_ sample: String, to family: String, type: String, openMetrics: Bool) -> Bool {
        switch type {
        case "counter":
            return openMetrics ? (sample == family + "_total" || sample == family + "_created") : sample == family
        case "histogram":
            return [family + "_bucket", family + "_sum", family + "_count", family + "_created"].contains(sample)
        case "summary":
            return [family, family + "_sum", family + "_count", family + "_created"].contains(sample)
        default:
            return sample == family
        }
    }

    static func isMetricName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || first == ":" || isLetter(first) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || $0 == ":" || isLetter($0) || isDigit($0) }
    }

    static func isLabelName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || isLetter(first) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || isLetter($0) || isDigit($0) }
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
    static func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }

    static func unescape(_ s: String, quotes: Bool, line: Int) throws(ParseError) -> String {
        var out = ""
        var escaping = false
        for c in s.unicodeScalars {
            if escaping {
                switch c {
                case "\\": out += "\\"
                case "n": out += "\n"
                case "\"" where quotes: out += "\""
                default: throw ParseError(line: line, reason: "bad escape \\\(c)", text: s)
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else if c == "\"" && quotes {
                throw ParseError(line: line, reason: "unescaped double quote in OpenMetrics HELP", text: s)
            } else {
                out.unicodeScalars.append(c)
            }
        }
        if escaping { throw ParseError(line: line, reason: "dangling backslash", text: s) }
        return out
    }

    static func parseValue(_ s: Substring, line: Int) throws(ParseError) -> Double {
        switch s {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default:
            guard !s.isEmpty, s.allSatisfy({ "0123456789.eE+-".contains($0) }), let v = Double(s) else {
                throw ParseError(line: line, reason: "bad value", text: String(s))
            }
            return v
        }
    }

    /// `name{a="x",b="y"} value [timestamp] [# {labels} value [timestamp]]`
    static func parseSample(_ text: String, line: Int, openMetrics: Bool) throws(ParseError) -> Sample {
        var scalars = Array(text.unicodeScalars)[...]
        func fail(_ reason: String) -> ParseError { ParseError(line: line, reason: reason, text: text) }
        func takeName() -> String {
            var name = ""
            while let c = scalars.first, c == "_" || c == ":" || isLetter(c) || isDigit(c) {
                name.unicodeScalars.append(c)
                scalars.removeFirst()
            }
            return name
        }
        func takeLabels() throws(ParseError) -> [String: String] {
            var labels: [String: String] = [:]
            guard scalars.first == "{" else { return labels }
            scalars.removeFirst()
            while true {
                if scalars.first == "}" {
                    scalars.removeFirst()
                    return labels
                }
                var lname = ""
                while let c = scalars.first, c == "_" || isLetter(c) || isDigit(c) {
                    lname.unicodeScalars.append(c)
                    scalars.removeFirst()
                }
                guard isLabelName(lname) else { throw fail("bad label name") }
                guard scalars.first == "=" else { throw fail("expected =") }
                scalars.removeFirst()
                guard scalars.first == "\"" else { throw fail("expected \"") }
                scalars.removeFirst()
                var value = ""
                var closed = false
                while let c = scalars.first {
                    scalars.removeFirst()
                    if c == "\\" {
                        guard let e = scalars.first else { throw fail("dangling backslash") }
                        scalars.removeFirst()
                        switch e {
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        case "n": value += "\n"
                        default: throw fail("bad escape in label value")
                        }
                    } else if c == "\"" {
                        closed = true
                        break
                    } else if c == "\n" {
                        throw fail("line feed in label value")
                    } else {
                        value.unicodeScalars.append(c)
                    }
                }
                guard closed else { throw fail("unterminated label value") }
                guard labels[lname] == nil else { throw fail("duplicate label \(lname)") }
                labels[lname] = value
                if scalars.first == "," {
                    scalars.removeFirst()
                    if scalars.first == "}" && openMetrics { throw fail("trailing comma") }
                } else if scalars.first != "}" {
                    throw fail("expected , or }")
                }
            }
        }
        func takeToken() -> Substring {
            var token = ""
            while let c = scalars.first, c != " " {
                token.unicodeScalars.append(c)
                scalars.removeFirst()
            }
            return token[...]
        }
        let name = takeName()
        guard isMetricName(name) else { throw fail("bad metric name") }
        let labels = try takeLabels()
        guard scalars.first == " " else { throw fail("expected a space before the value") }
        scalars.removeFirst()
        let value = try parseValue(takeToken(), line: line)
        var exemplar: Exemplar?
        if scalars.first == " " {
            scalars.removeFirst()
            if scalars.first == "#" {
                guard openMetrics else { throw fail("exemplar in Prometheus text") }
                scalars.removeFirst()
                guard scalars.first == " " else { throw fail("expected a space after #") }
                scalars.removeFirst()
                guard scalars.first == "{" else { throw fail("exemplar without labels") }
                let elabels = try takeLabels()
                guard scalars.first == " " else { throw fail("expected the exemplar value") }
                scalars.removeFirst()
                let evalue = try parseValue(takeToken(), line: line)
                if scalars.first == " " {
                    scalars.removeFirst()
                    _ = try parseValue(takeToken(), line: line)
                }
                exemplar = Exemplar(labels: elabels, value: evalue)
            } else {
                // A timestamp.
                let ts = takeToken()
                _ = try parseValue(ts, line: line)
                if scalars.first == " " {
                    throw fail("unexpected content after the timestamp")
                }
            }
        }
        guard scalars.isEmpty else { throw fail("trailing content") }
        return Sample(name: name, labels: labels, value: value, exemplar: exemplar)
    }
}
