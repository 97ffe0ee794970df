#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The attribute keys of `KnownAttributes`, recognized from bytes: switch on the length, then a
/// compare of 8-byte words per candidate of that length (every known key is at least 8 bytes long, so
/// the words are loaded inside the key; the first word rejects almost every unknown key). No `String`
/// is made for a key, and no library call (a `memcmp` per attribute was ~4 % of an SDK worker's CPU).
enum KnownKey: UInt8 {
    case costUSD, hostType, cloudRegion, cloudPlatform, faasMaxMemory
    case responseModel, requestModel, inputTokens, outputTokens, cacheReadInputTokens, cacheCreationInputTokens
    case promptTokens, completionTokens, environmentName, environmentLegacy
    case serviceName, sessionID, agentDepth, agentCeilingHit, agentParentSession
    /// Any other `faas.*` key: only its presence matters.
    case otherFaas

    @inline(__always)
    static func classify(_ p: UnsafeRawPointer, _ n: Int) -> KnownKey? {
        @inline(__always) func eq(_ s: StaticString) -> Bool {
            // Safe: callers only pass literals of exactly `n` ≥ 8 bytes (checked by the switch below), so
            // every load, the last (overlapping) word's included, lies inside both.
            let q = UnsafeRawPointer(s.utf8Start)
            var i = 0
            while i + 8 < n {
                guard p.loadUnaligned(fromByteOffset: i, as: UInt64.self) == q.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                else { return false }
                i += 8
            }
            return p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == q.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }
        switch n {
        case 8: if eq("cost.usd") { return .costUSD }
        case 9: if eq("host.type") { return .hostType }
        case 10: if eq("session.id") { return .sessionID }
        case 11: if eq("agent.depth") { return .agentDepth }
        case 12:
            if eq("service.name") { return .serviceName }
            if eq("cloud.region") { return .cloudRegion }
        case 14: if eq("cloud.platform") { return .cloudPlatform }
        case 15: if eq("faas.max_memory") { return .faasMaxMemory }
        case 17: if eq("agent.ceiling_hit") { return .agentCeilingHit }
        case 20:
            if eq("gen_ai.request.model") { return .requestModel }
            if eq("agent.parent_session") { return .agentParentSession }
        case 21: if eq("gen_ai.response.model") { return .responseModel }
        case 22: if eq("deployment.environment") { return .environmentLegacy }
        case 25: if eq("gen_ai.usage.input_tokens") { return .inputTokens }
        case 26:
            if eq("gen_ai.usage.output_tokens") { return .outputTokens }
            if eq("gen_ai.usage.prompt_tokens") { return .promptTokens }
        case 27: if eq("deployment.environment.name") { return .environmentName }
        case 30: if eq("gen_ai.usage.completion_tokens") { return .completionTokens }
        case 36: if eq("gen_ai.usage.cache_read.input_tokens") { return .cacheReadInputTokens }
        case 40: if eq("gen_ai.usage.cache_creation.input_tokens") { return .cacheCreationInputTokens }
        default: break
        }
        // "faas." = 66 61 61 73 2e: a little-endian word and a byte.
        if n >= 5, p.loadUnaligned(as: UInt32.self) == UInt32(littleEndian: 0x7361_6166),
            p.load(fromByteOffset: 4, as: UInt8.self) == 0x2E
        {
            return .otherFaas
        }
        return nil
    }

    @inline(__always)
    static func classify(_ key: UnsafeRawBufferPointer) -> KnownKey? {
        guard let base = key.baseAddress else { return nil }
        return classify(base, key.count)
    }

    /// Whether the key's value is read at all (`otherFaas` only marks presence).
    var needsValue: Bool { self != .otherFaas }
}

extension KnownAttributes {
    /// Records one occurrence of a known key. `value` is nil when the `KeyValue` has no value (or an
    /// empty `AnyValue`). Rule (the last occurrence wins): the field becomes this occurrence's value, or
    /// nil when the value is absent or of another type than the field's (a string field takes only
    /// `string_value`, an integer field only `int_value`, `agent.ceiling_hit` only `bool_value`;
    /// `cost.usd` takes any value). Every `faas.*` key sets `hasFaasAttribute`.
    @inline(__always)
    mutating func apply(_ key: KnownKey, _ value: AttributeValue?) {
        @inline(__always) func str() -> ByteView? {
            if case .string(let b)? = value { return b }
            return nil
        }
        @inline(__always) func int() -> Int64? {
            if case .int(let i)? = value { return i }
            return nil
        }
        switch key {
        case .costUSD: costUSD = value
        case .hostType: hostType = str()
        case .cloudRegion: cloudRegion = str()
        case .cloudPlatform: cloudPlatform = str()
        case .faasMaxMemory:
            hasFaasAttribute = true
            faasMaxMemoryBytes = int()
        case .otherFaas: hasFaasAttribute = true
        case .responseModel: responseModel = str()
        case .requestModel: requestModel = str()
        case .inputTokens: inputTokens = int()
        case .outputTokens: outputTokens = int()
        case .cacheReadInputTokens: cacheReadInputTokens = int()
        case .cacheCreationInputTokens: cacheCreationInputTokens = int()
        case .promptTokens: promptTokens = int()
        case .completionTokens: completionTokens = int()
        case .environmentName: environmentName = str()
        case .environmentLegacy: environmentLegacy = str()
        case .serviceName: serviceName = str()
        case .sessionID: sessionID = str()
        case .agentDepth: agentDepth = int()
        case .agentCeilingHit:
            if case .bool(let b)? = value { agentCeilingHit = b } else { agentCeilingHit = nil }
        case .agentParentSession: agentParentSession = str()
        }
    }
}

@inline(__always)
func fastBytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    memcmp(a, b, n) == 0
}
