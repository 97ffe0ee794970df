/// Text edits of a catalog file by line: insert entries before or after an existing entry, replace an
/// entry, append to a section. Everything not edited is kept byte for byte (comments, order, spacing).
///
/// Guarantees: understands block sequences (`  - host_type: …` followed by more indented lines), which
/// is how `config/pricing.yaml` is written; any other layout of an entry it must touch throws
/// ``PriceImportError`` (the import then says to edit by hand) rather than guess. Edits are collected
/// first and applied once by ``apply()``, so line numbers from the parser stay valid.
struct TextLayout {
    private let lines: [String]
    private let file: String
    /// Lines to insert before line index `key` (`lines.count` = at the end).
    private var before: [Int: [String]] = [:]
    /// Line index → (last line index, replacement).
    private var replacements: [Int: (end: Int, lines: [String])] = [:]
    /// Sections this import created at the end of the file, with the item indentation used.
    private var createdSections: Set<String> = []

    init(lines: [String], file: String) {
        self.lines = lines
        self.file = file
    }

    private func unsupported(_ line: Int) -> PriceImportError {
        PriceImportError(file: file, reason: "line \(line): only block-style entries (\"  - key: value\" lines) can be edited; add this price by hand")
    }

    private static func indentation(_ line: String) -> Int { line.prefix { $0 == " " }.count }

    /// The entry whose mapping starts on 1-based `line`: first and last line index, column of its `-`.
    private func extent(entryLine line: Int) throws(PriceImportError) -> (start: Int, end: Int, dash: Int) {
        let start = line - 1
        guard start >= 0, start < lines.count else { throw unsupported(line) }
        let dash = Self.indentation(lines[start])
        guard lines[start].dropFirst(dash).hasPrefix("- ") else { throw unsupported(line) }
        var end = start
        while end + 1 < lines.count {
            let next = lines[end + 1]
            let trimmed = next.drop { $0 == " " }
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), Self.indentation(next) > dash else { break }
            end += 1
        }
        return (start, end, dash)
    }

    mutating func insert(afterEntryLine line: Int, _ text: (Int) -> [String]) throws(PriceImportError) {
        let e = try extent(entryLine: line)
        before[e.end + 1, default: []] += text(e.dash)
    }

    mutating func insert(beforeEntryLine line: Int, _ text: (Int) -> [String]) throws(PriceImportError) {
        let e = try extent(entryLine: line)
        before[e.start, default: []] += text(e.dash)
    }

    mutating func replace(entryLine line: Int, _ text: (Int) -> [String]) throws(PriceImportError) {
        let e = try extent(entryLine: line)
        guard replacements[e.start] == nil else {
            throw PriceImportError(file: file, reason: "line \(line): two imported prices replace the same entry")
        }
        replacements[e.start] = (e.end, text(e.dash))
    }

    /// After the section's last entry, or, when the file has no such section, a new section at the end.
    mutating func append(section: String, lastEntryLine: Int?, _ text: (Int) -> [String]) throws(PriceImportError) {
        if let lastEntryLine {
            try insert(afterEntryLine: lastEntryLine, text)
            return
        }
        if lines.contains(where: { $0.hasPrefix(section + ":") }) && !createdSections.contains(section) {
            throw PriceImportError(file: file, reason: "the catalog's \(section): section has no entries in block style; add the first one by hand")
        }
        // At the end, before a final empty line (the file's trailing newline).
        let end = lines.last == "" ? lines.count - 1 : lines.count
        if createdSections.insert(section).inserted { before[end, default: []].append("\(section):") }
        before[end, default: []] += text(2)
    }

    /// The edited lines.
    func apply() -> [String] {
        var out: [String] = []
        var i = 0
        while i <= lines.count {
            out += before[i] ?? []
            guard i < lines.count else { break }
            if let r = replacements[i] {
                out += r.lines
                i = r.end + 1
            } else {
                out.append(lines[i])
                i += 1
            }
        }
        return out
    }
}
