/// A JSON value that keeps every number as its source TEXT (`2.5e-06` stays `"2.5e-06"`), so prices are
/// converted exactly and never pass through `Double`.
///
/// Guarantees: object members keep their file order (duplicates kept, the first wins in ``member(_:)``).
enum ImportJSON: Sendable, Equatable {
    case object([(String, ImportJSON)])
    case array([ImportJSON])
    case string(String)
    /// The number's text exactly as written (JSON grammar checked).
    case number(String)
    case bool(Bool)
    case null

    static func == (a: ImportJSON, b: ImportJSON) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.array(x), .array(y)): x == y
        case let (.string(x), .string(y)), let (.number(x), .number(y)): x == y
        case let (.bool(x), .bool(y)): x == y
        case (.null, .null): true
        default: false
        }
    }

    /// The first member named `key` of an object (nil for other values).
    func member(_ key: String) -> ImportJSON? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }
}

/// A pull reader over the bytes of one JSON document: read a whole (small) value, skip one, or walk an
/// object's members one at a time, so a 300 MB AWS offer file is never held as a tree.
///
/// Guarantees: every read is bounds-checked; nesting is limited to ``depthMax``; malformed input throws
/// `PriceImportError` with the byte offset, never traps.
struct ImportJSONReader {
    static let depthMax = 64

    private let bytes: [UInt8]
    private(set) var offset = 0
    private let file: String
    private var depth = 0

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    func failure(_ reason: String) -> PriceImportError {
        PriceImportError(file: file, reason: "\(reason) at byte \(offset)")
    }

    private mutating func skipSpace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    private mutating func peek() throws(PriceImportError) -> UInt8 {
        skipSpace()
        guard offset < bytes.count else { throw failure("unexpected end of JSON") }
        return bytes[offset]
    }

    private mutating func expect(_ byte: UInt8) throws(PriceImportError) {
        guard try peek() == byte else { throw failure("expected '\(Character(Unicode.Scalar(byte)))'") }
        offset += 1
    }

    /// Calls `body` for each member of the object at the cursor, in file order. `body` must consume the
    /// member's value (``readValue()`` or ``skipValue()``).
    mutating func forEachMember(_ body: (inout ImportJSONReader, String) throws(PriceImportError) -> Void) throws(PriceImportError) {
        try expect(UInt8(ascii: "{"))
        try enter()
        defer { depth -= 1 }
        if try peek() == UInt8(ascii: "}") { offset += 1; return }
        while true {
            let key = try readString()
            try expect(UInt8(ascii: ":"))
            try body(&self, key)
            switch try peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"): offset += 1; return
            default: throw failure("expected ',' or '}' in an object")
            }
        }
    }

    /// Reads the value at the cursor into a tree (for small values).
    mutating func readValue() throws(PriceImportError) -> ImportJSON {
        switch try peek() {
        case UInt8(ascii: "{"):
            var members: [(String, ImportJSON)] = []
            try forEachMember { reader, key throws(PriceImportError) in members.append((key, try reader.readValue())) }
            return .object(members)
        case UInt8(ascii: "["):
            offset += 1
            try enter()
            defer { depth -= 1 }
            var items: [ImportJSON] = []
            if try peek() == UInt8(ascii: "]") { offset += 1; return .array(items) }
            while true {
                items.append(try readValue())
                switch try peek() {
                case UInt8(ascii: ","): offset += 1
                case UInt8(ascii: "]"): offset += 1; return .array(items)
                default: throw failure("expected ',' or ']' in an array")
                }
            }
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "t"):
            try literal("true"); return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false"); return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null"); return .null
        default:
            return .number(try readNumber())
        }
    }

    /// Skips the value at the cursor (still checking its syntax).
    mutating func skipValue() throws(PriceImportError) {
        switch try peek() {
        case UInt8(ascii: "{"):
            try forEachMember { reader, _ throws(PriceImportError) in try reader.skipValue() }
        case UInt8(ascii: "["):
            _ = try readValue()
        case UInt8(ascii: "\""):
            _ = try readString()
        default:
            _ = try readValue()
        }
    }

    /// After the document's value: only white space may follow.
    mutating func expectEnd() throws(PriceImportError) {
        skipSpace()
        guard offset == bytes.count else { throw failure("text after the JSON document") }
    }

    private mutating func enter() throws(PriceImportError) {
        depth += 1
        guard depth <= Self.depthMax else { throw failure("JSON nested deeper than \(Self.depthMax)") }
    }

    private mutating func literal(_ word: String) throws(PriceImportError) {
        for byte in word.utf8 {
            guard offset < bytes.count, bytes[offset] == byte else { throw failure("expected \(word)") }
            offset += 1
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
    private mutating func readNumber() throws(PriceImportError) -> String {
        let start = offset
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        guard isDigit(offset) else { throw failure("invalid JSON value") }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
        } else {
            while isDigit(offset) { offset += 1 }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard isDigit(offset) else { throw failure("digits expected after '.'") }
            while isDigit(offset) { offset += 1 }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            guard isDigit(offset) else { throw failure("digits expected in an exponent") }
            while isDigit(offset) { offset += 1 }
        }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    private mutating func readString() throws(PriceImportError) -> String {
        try expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while true {
            guard offset < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw failure("string is not UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                guard offset < bytes.count else { throw failure("unterminated escape") }
                let escape = bytes[offset]
                offset += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A surrogate pair: \uD83D\uDE00.
                        try literal("\\u")
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let s = Unicode.Scalar(scalar) else { throw failure("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(s)).utf8))
                default:
                    throw failure("invalid escape")
                }
            default:
                guard byte >= 0x20 else { throw failure("control character in a string") }
                out.append(byte)
            }
        }
    }

    private mutating func hex4() throws(PriceImportError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard offset < bytes.count else { throw failure("short \\u escape") }
            let b = bytes[offset]
            offset += 1
            let digit: UInt32
            switch b {
            case 0x30...0x39: digit = UInt32(b - 0x30)
            case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
            default: throw failure("bad hex digit in \\u escape")
            }
            value = value << 4 | digit
        }
        return value
    }
}
