/// FNV-1a, 64 bits: the hash of byte keys in the catalog's lookup tables and of catalog files.
@inline(__always)
func fnv1a64(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    var h = seed
    for b in bytes {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01b3
    }
    return h
}

@inline(__always)
func bytesEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count where a[i] != b[i] { return false }
    return true
}

/// An immutable open-addressing table from byte strings to `Int32` values, built once per catalog.
/// Lookups hash the borrowed bytes and compare against one contiguous key arena: no allocation.
/// Bounds: at most `Int32.max` keys; load factor <= 1/2 so a probe sequence always ends at an empty slot.
struct ByteKeyTable: Sendable {
    private let arena: [UInt8]
    private let keyStart: [Int32]
    private let keyLength: [Int32]
    private let values: [Int32]
    private let hashes: [UInt64]
    /// Slot → key index, −1 = empty. Count is a power of two ≥ 2 × keys.
    private let slots: [Int32]
    private let mask: Int

    /// `entries` must have distinct keys (the later of two equal keys is ignored).
    init(_ entries: [(key: [UInt8], value: Int32)]) {
        var capacity = 4
        while capacity < entries.count * 2 { capacity <<= 1 }
        var arena: [UInt8] = []
        var keyStart: [Int32] = []
        var keyLength: [Int32] = []
        var values: [Int32] = []
        var hashes: [UInt64] = []
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        for (key, value) in entries {
            let h = key.withUnsafeBytes { fnv1a64($0) }
            var slot = Int(truncatingIfNeeded: h) & mask
            var duplicate = false
            while slots[slot] >= 0 {
                let other = Int(slots[slot])
                if hashes[other] == h && Array(arena[Int(keyStart[other])..<Int(keyStart[other] + keyLength[other])]) == key {
                    duplicate = true
                    break
                }
                slot = (slot + 1) & mask
            }
            if duplicate { continue }
            slots[slot] = Int32(keyStart.count)
            keyStart.append(Int32(arena.count))
            keyLength.append(Int32(key.count))
            arena.append(contentsOf: key)
            values.append(value)
            hashes.append(h)
        }
        self.arena = arena
        self.keyStart = keyStart
        self.keyLength = keyLength
        self.values = values
        self.hashes = hashes
        self.slots = slots
        self.mask = mask
    }

    /// The value stored for exactly these bytes, or nil.
    @inline(__always)
    func value(for bytes: UnsafeRawBufferPointer) -> Int32? {
        let h = fnv1a64(bytes)
        var slot = Int(truncatingIfNeeded: h) & mask
        return arena.withUnsafeBytes { arenaBytes -> Int32? in
            while true {
                let index = Int(slots[slot])
                if index < 0 { return nil }
                if hashes[index] == h {
                    let start = Int(keyStart[index])
                    let key = UnsafeRawBufferPointer(rebasing: arenaBytes[start..<start + Int(keyLength[index])])
                    if bytesEqual(key, bytes) { return values[index] }
                }
                slot = (slot + 1) & mask
            }
        }
    }
}

/// A model-name glob: `*` matches any run of characters (also none), `?` exactly one character
/// (one UTF-8 scalar), everything else itself; the whole name must match. Compiled to a literal or
/// prefix check when it has no other wildcard, so most lookups are one comparison.
struct Glob: Sendable {
    enum Form: Sendable {
        case literal
        case prefix  // pattern minus its one trailing `*`
        case general
    }

    let pattern: [UInt8]
    let form: Form
    let text: String

    init(_ text: String) {
        self.text = text
        let bytes = Array(text.utf8)
        let star = UInt8(ascii: "*")
        let question = UInt8(ascii: "?")
        let wildcards = bytes.filter { $0 == star || $0 == question }.count
        if wildcards == 0 {
            pattern = bytes
            form = .literal
        } else if wildcards == 1 && bytes.last == star {
            pattern = Array(bytes.dropLast())
            form = .prefix
        } else {
            pattern = bytes
            form = .general
        }
    }

    func matches(_ name: UnsafeRawBufferPointer) -> Bool {
        pattern.withUnsafeBytes { p in
            switch form {
            case .literal:
                return bytesEqual(p, name)
            case .prefix:
                return name.count >= p.count && bytesEqual(p, UnsafeRawBufferPointer(rebasing: name[0..<p.count]))
            case .general:
                return Glob.generalMatch(pattern: p, name: name)
            }
        }
    }

    /// Iterative wildcard match with single-star backtracking: O(|pattern| × |name|) worst case, no
    /// recursion, no allocation.
    static func generalMatch(pattern p: UnsafeRawBufferPointer, name s: UnsafeRawBufferPointer) -> Bool {
        let star = UInt8(ascii: "*")
        let question = UInt8(ascii: "?")
        var pi = 0
        var si = 0
        var starP = -1
        var starS = 0
        // Length of the UTF-8 scalar starting at s[i] (1 for invalid lead bytes).
        func scalarLength(_ i: Int) -> Int {
            let b = s[i]
            let n = b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
            return min(n, s.count - i)
        }
        while si < s.count {
            if pi < p.count && p[pi] == question {
                pi += 1
                si += scalarLength(si)
            } else if pi < p.count && p[pi] == star {
                starP = pi
                starS = si
                pi += 1
            } else if pi < p.count && p[pi] == s[si] {
                pi += 1
                si += 1
            } else if starP >= 0 {
                pi = starP + 1
                starS += scalarLength(starS)
                si = starS
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == star { pi += 1 }
        return pi == p.count
    }
}
