// The static world the generator draws from: services, business domains, LLM models, attribute pools.
// Plain data; realistic names (OpenTelemetry semantic conventions, EC2 instance types, model ids).

struct ServiceProfile: Sendable {
    var name: String
    /// nil for Lambda functions.
    var hostType: String?
    var region: String
    /// Lambda memory in MiB (nil = not serverless).
    var lambdaMemoryMiB: Int64?
    /// Entry span name when called (not as root), e.g. `POST /v1/payments`.
    var entryName: String
    var namespace: String
    var language: String
}

enum TrafficModel {
    static let services: [ServiceProfile] = [
        .init(name: "web-frontend", hostType: "m5.large", region: "us-east-1", entryName: "GET /", namespace: "shop", language: "nodejs"),
        .init(name: "checkout-svc", hostType: "m5.xlarge", region: "eu-west-1", entryName: "POST /v1/checkout", namespace: "shop", language: "java"),
        .init(name: "payment-svc", hostType: "c5.2xlarge", region: "us-east-1", entryName: "POST /v1/payments", namespace: "payments", language: "go"),
        .init(name: "inventory-svc", hostType: "r5.large", region: "us-west-2", entryName: "GET /v1/stock", namespace: "shop", language: "java"),
        .init(name: "search-api", hostType: "c6g.xlarge", region: "eu-west-1", entryName: "GET /v1/search", namespace: "search", language: "rust"),
        .init(name: "ranking-svc", hostType: "g5.xlarge", region: "us-east-1", entryName: "POST /v1/rank", namespace: "search", language: "python"),
        .init(name: "agent-orchestrator", hostType: "m6i.large", region: "us-east-1", entryName: "POST /v1/agent", namespace: "ai", language: "python"),
        .init(name: "tool-runner", hostType: "t3.medium", region: "eu-central-1", entryName: "POST /v1/tools/run", namespace: "ai", language: "python"),
        .init(name: "fulfillment-worker", hostType: "m5.large", region: "eu-west-1", entryName: "order.created process", namespace: "ops", language: "go"),
        .init(name: "auth-svc", hostType: "t3.medium", region: "us-east-1", entryName: "POST /v1/token", namespace: "identity", language: "go"),
        .init(name: "recs-svc", hostType: "g5.xlarge", region: "eu-west-1", entryName: "GET /v1/recs", namespace: "search", language: "python"),
        .init(name: "support-bot", hostType: "m6i.large", region: "us-west-2", entryName: "POST /v1/chat", namespace: "ai", language: "python"),
        .init(name: "legacy-billing", hostType: "x9.mega", region: "us-east-1", entryName: "POST /billing/charge", namespace: "payments", language: "dotnet"),
        .init(name: "reporting-batch", hostType: "r5.large", region: "ap-southeast-2", entryName: "report.generate", namespace: "ops", language: "java"),
        .init(name: "send-receipt", region: "us-east-1", lambdaMemoryMiB: 128, entryName: "send-receipt", namespace: "ops", language: "nodejs"),
        .init(name: "image-resizer", region: "eu-west-1", lambdaMemoryMiB: 1024, entryName: "image-resizer", namespace: "media", language: "python"),
        .init(name: "pdf-render", region: "us-east-1", lambdaMemoryMiB: 1769, entryName: "pdf-render", namespace: "ops", language: "java"),
        .init(name: "webhook-dispatch", region: "us-west-2", lambdaMemoryMiB: 256, entryName: "webhook-dispatch", namespace: "ops", language: "go"),
    ]

    // Service indices (into `services`).
    static let web = 0, checkout = 1, payment = 2, inventory = 3, search = 4, ranking = 5, agent = 6, tools = 7
    static let fulfillment = 8, auth = 9, recs = 10, support = 11, billing = 12, reporting = 13
    static let lambdaReceipt = 14, lambdaImage = 15, lambdaPDF = 16, lambdaWebhook = 17

    enum LLMUse: Sendable { case none, light, heavy, agentic }

    struct Domain: Sendable {
        var name: String
        var rootService: Int
        var rootKind: SpanKind
        /// Call graph: caller → callees (each called with some probability).
        var calls: [Int: [Int]]
        var llm: LLMUse
        /// Service that makes the LLM calls.
        var llmService: Int
        var models: [Int]
        var queueConsumer: Int?
        var lambda: Int?
        var sessions: Bool
        var weight: Int
    }

    static let domains: [Domain] = [
        Domain(name: "POST /checkout", rootService: web, rootKind: .server,
               calls: [web: [auth, checkout], checkout: [payment, inventory, billing]], llm: .none, llmService: web,
               models: [], queueConsumer: fulfillment, lambda: lambdaReceipt, sessions: false, weight: 14),
        Domain(name: "GET /search", rootService: search, rootKind: .server, calls: [search: [ranking, recs]],
               llm: .light, llmService: ranking, models: [5, 0], queueConsumer: nil, lambda: nil, sessions: false, weight: 20),
        Domain(name: "agent.run", rootService: agent, rootKind: .server, calls: [agent: [tools], tools: [search]],
               llm: .agentic, llmService: agent, models: [3, 4, 0, 1, 2], queueConsumer: nil, lambda: nil, sessions: true, weight: 8),
        Domain(name: "POST /cart/items", rootService: web, rootKind: .server, calls: [web: [auth, inventory]],
               llm: .none, llmService: web, models: [], queueConsumer: nil, lambda: nil, sessions: false, weight: 12),
        Domain(name: "GET /product/{id}", rootService: web, rootKind: .server, calls: [web: [inventory, recs]],
               llm: .none, llmService: web, models: [], queueConsumer: nil, lambda: lambdaImage, sessions: false, weight: 16),
        Domain(name: "POST /login", rootService: auth, rootKind: .server, calls: [:], llm: .none, llmService: auth,
               models: [], queueConsumer: nil, lambda: nil, sessions: false, weight: 8),
        Domain(name: "GET /recommendations", rootService: recs, rootKind: .server, calls: [recs: [ranking]],
               llm: .light, llmService: recs, models: [0, 6, 7], queueConsumer: nil, lambda: nil, sessions: false, weight: 7),
        Domain(name: "POST /support/chat", rootService: support, rootKind: .server, calls: [support: [auth, search]],
               llm: .heavy, llmService: support, models: [4, 0, 3, 6], queueConsumer: nil, lambda: nil, sessions: true, weight: 6),
        Domain(name: "image.resize", rootService: lambdaImage, rootKind: .server, calls: [:], llm: .none,
               llmService: lambdaImage, models: [], queueConsumer: nil, lambda: nil, sessions: false, weight: 3),
        Domain(name: "POST /orders/{id}/refund", rootService: checkout, rootKind: .server,
               calls: [checkout: [payment, billing]], llm: .none, llmService: checkout, models: [],
               queueConsumer: fulfillment, lambda: lambdaWebhook, sessions: false, weight: 3),
        Domain(name: "report.generate", rootService: reporting, rootKind: .consumer, calls: [reporting: [inventory]],
               llm: .light, llmService: reporting, models: [1], queueConsumer: nil, lambda: lambdaPDF, sessions: false, weight: 2),
        Domain(name: "webhook.deliver", rootService: lambdaWebhook, rootKind: .consumer, calls: [:], llm: .none,
               llmService: lambdaWebhook, models: [], queueConsumer: nil, lambda: nil, sessions: false, weight: 1),
    ]

    struct Model: Sendable {
        var request: String
        var response: String
        var provider: String
        var operation: String
        var caching: Bool
        var reasoning: Bool
    }

    static let models: [Model] = [
        Model(request: "gpt-4o-mini", response: "gpt-4o-mini-2024-07-18", provider: "openai", operation: "chat", caching: true, reasoning: false),
        Model(request: "gpt-4o", response: "gpt-4o-2024-08-06", provider: "openai", operation: "chat", caching: true, reasoning: false),
        Model(request: "o3-mini", response: "o3-mini-2025-01-31", provider: "openai", operation: "chat", caching: false, reasoning: true),
        Model(request: "claude-3-5-sonnet-latest", response: "claude-3-5-sonnet-20241022", provider: "anthropic", operation: "chat", caching: true, reasoning: false),
        Model(request: "claude-3-5-haiku-latest", response: "claude-3-5-haiku-20241022", provider: "anthropic", operation: "chat", caching: true, reasoning: false),
        Model(request: "text-embedding-3-small", response: "text-embedding-3-small", provider: "openai", operation: "embeddings", caching: false, reasoning: false),
        Model(request: "gemini-1.5-flash", response: "gemini-1.5-flash-002", provider: "gcp.gemini", operation: "generate_content", caching: false, reasoning: false),
        Model(request: "llama-3.1-70b-instruct", response: "llama-3.1-70b-instruct", provider: "aws.bedrock", operation: "chat", caching: false, reasoning: false),
    ]

    /// A model no catalog prices (unpriced LLM calls).
    static let unknownModel = Model(
        request: "acme-finetune-v2", response: "acme-finetune-v2-0017", provider: "acme", operation: "chat", caching: false,
        reasoning: false)

    /// (value, attribute name): new name, deprecated name; env nil = no environment attribute.
    struct Environment: Sendable {
        var name: String?
        var deprecatedKey: Bool
        var weight: Int
    }

    static let environments: [Environment] = [
        Environment(name: "production", deprecatedKey: false, weight: 80),
        Environment(name: "prod", deprecatedKey: true, weight: 6),
        Environment(name: nil, deprecatedKey: false, weight: 4),
        Environment(name: "development", deprecatedKey: false, weight: 3),
        Environment(name: "staging", deprecatedKey: false, weight: 4),
        Environment(name: "ci", deprecatedKey: true, weight: 3),
    ]

    static let internalNames = [
        "validate request", "authorize", "render template", "serialize response", "load config", "compute totals",
        "apply promotions", "resolve feature flags", "parse payload", "build query",
    ]
    static let dbStatements = [
        ("postgresql", "SELECT", "SELECT id, qty FROM stock WHERE sku = $1"),
        ("postgresql", "UPDATE", "UPDATE orders SET status = $1 WHERE id = $2"),
        ("postgresql", "INSERT", "INSERT INTO payments (order_id, amount) VALUES ($1, $2)"),
        ("redis", "GET", "GET session:*"),
        ("mongodb", "find", "{\"find\":\"products\",\"filter\":{\"sku\":\"?\"}}"),
    ]
    static let userAgents = [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36",
        "okhttp/4.12.0", "python-requests/2.32.3", "Go-http-client/2.0",
    ]
    static let tenants = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell"]
    static let flags = ["new-checkout", "fast-search", "agent-v2", "dark-mode", "rec-model-b"]
    static let availabilityZoneSuffix = ["a", "b", "c"]
}
