import type { LookupFunction } from 'node:net';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { QuotaSettings, StateStatusEvent } from './state/types.js';
import type { RequestLogEntry } from './request-log.js';
import { WIRES } from './protocols/conversation.js';
import type { ReasoningParameter } from './protocols/codec.js';
import type { Provider } from './providers/provider.js';
import type { Wire } from './protocols/conversation.js';
import { DEFAULT_PRICES, DEFAULT_PROVIDER_ORDER, DEFAULT_PROVIDERS } from './providers/provider-table.js';

/** The clusters a server can run in: `global`, or `cn` (mainland China). */
export const CLUSTERS = ['global', 'cn'] as const;
/** Where this server runs (SPEC §3). */
export type Cluster = (typeof CLUSTERS)[number];

const clusterSchema = z.enum(CLUSTERS);
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const wireSchema = z.enum(WIRES as [Wire, ...Wire[]]);
const providerId = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'provider ids are lower-case letters, digits, "-", "_" or "."');

const providerSettingsSchema = z.object({
  /** Human-readable name, for `/api/providers`. */
  label: z.string().optional(),
  /** @deprecated Version 1's name for the `chat` wire; use `wires`. */
  protocol: z.literal('openai').optional(),
  /**
   * The wires this provider speaks natively (SPEC §3), preferred first: `chat` (`/chat/completions`), `responses`
   * (`/responses`), `messages` (Anthropic `/messages`). A request on one of them passes through; others are translated.
   */
  wires: z.array(wireSchema).min(1).default(['chat']),
  /** The base URL requests go to (without `/chat/completions`). */
  baseUrl: httpUrl,
  /** A base URL per wire, where a wire is served elsewhere (DeepSeek's Anthropic Messages at `/anthropic`). */
  wireBaseUrls: z.partialRecord(wireSchema, httpUrl).default({}),
  /** Whether the `messages` wire has Anthropic's exact `/messages/count_tokens`; otherwise Switchyard estimates. */
  countTokens: z.boolean().default(false),
  /** How a chat upstream is asked to think, when a translated request asks for thinking. */
  reasoningParameter: z.enum(['reasoning_effort', 'enable_thinking', 'thinking', 'none']).default('reasoning_effort'),
  /** Whether a chat upstream honours Anthropic-style `cache_control` on content parts (kept there, dropped elsewhere). */
  cacheControl: z.boolean().default(false),
  /**
   * How this provider is asked to carry on an answer that broke (resume): `prefill`, the partial answer as the last
   * assistant turn on the `messages` wire (Anthropic's prefill); `partial` or `prefix`, the same on the `chat` wire
   * marked `partial: true` (DashScope's Qwen, Kimi) or `prefix: true` (DeepSeek's beta, Mistral); `instruction`, the
   * partial answer as an assistant turn followed by a user turn asking to continue exactly where it stopped (any model).
   */
  continuation: z.enum(['prefill', 'partial', 'prefix', 'instruction']).default('instruction'),
  /** A base URL per cluster; one set for the running cluster also makes the provider reachable there by policy (egress). */
  clusterBaseUrls: z.partialRecord(clusterSchema, httpUrl).default({}),
  /** How the key is sent: `Authorization: Bearer`, Azure's `api-key`, or not at all. */
  auth: z.enum(['bearer', 'api-key', 'none']).default('bearer'),
  /** The operator's key for this provider. Never sent to a caller-chosen base URL. */
  apiKey: z.string().min(1).optional(),
  /** Clusters this provider is reachable from by policy. */
  clusters: z.array(clusterSchema).min(1),
  /** Tier name → model candidates, in order. */
  tiers: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
  /** Alias → a tier name of this provider, or a model id. */
  aliases: z.record(z.string().min(1), z.string().min(1)).default({}),
});

/**
 * A provider as the operator writes it (defaults applied later).
 * @interface
 */
export type ProviderSettings = z.input<typeof providerSettingsSchema>;

const agentSchema = z.object({
  /** The system message put before the conversation. */
  systemPrompt: z.string().default(''),
  /** The tier or alias used when a request names none. */
  tier: z.string().min(1).default('general'),
});

const msSchema = z.number().int().positive();

const timeoutsSchema = z.object({
  /** TCP + TLS connect. */
  connectMs: msSchema.default(10_000),
  /** From sending the request to the response headers. */
  firstByteMs: msSchema.default(60_000),
  /** Longest silence between two body chunks. */
  idleMs: msSchema.default(60_000),
  /** The whole attempt. */
  totalMs: msSchema.default(600_000),
});
/**
 * Deadlines of one upstream attempt (SPEC §5).
 * @interface
 */
export type Timeouts = z.output<typeof timeoutsSchema>;

const delaySchema = z.number().int().nonnegative();

/** `*` in a list or record of tiers: every request, raw model ids included. */
export const EVERY_TIER = '*';

const resumeSchema = z.object({
  /** Tiers whose streams continue on another candidate after a break (SPEC §5); `*` for every request. */
  tiers: z.array(z.string().min(1)).default([]),
  /** Whether a caller may turn resume on for one request with `X-LLM-Resume: true` (`false` always turns it off). */
  header: z.boolean().default(false),
  /** Continuations of one answer at most. */
  maxResumes: z.number().int().min(1).max(5).default(2),
  /** Silence after which a resumable stream counts as stalled and is continued elsewhere; default: the tier's `idleMs`. */
  stallMs: msSchema.optional(),
});
/** Resume settings (SPEC §5), as `createSwitchyard` resolved them. */
export interface ResumeSettings {
  /** Tiers whose streams are resumed; `*` for every request. */
  tiers: string[];
  /** Whether `X-LLM-Resume: true` may turn it on for one request. */
  header: boolean;
  /** Continuations of one answer at most. */
  maxResumes: number;
  /** Silence after which a resumable stream counts as stalled; undefined: the tier's `idleMs`. */
  stallMs?: number | undefined;
}

const hedgeTierSchema = z.union([
  delaySchema.transform((delayMs) => ({ delayMs, percentile: undefined })),
  z.object({
    /** Start the second attempt when no byte came after this long; with `percentile`, the most it waits (and the delay until enough first bytes were seen). */
    delayMs: delaySchema,
    /** Wait this percentile (1–99.9) of the provider's recent times to first byte instead, once at least 20 were seen. */
    percentile: z.number().min(1).max(99.9).optional(),
  }),
]);
const hedgeSchema = z.object({
  /** Tier → hedge delay: a number of milliseconds, or `{ delayMs, percentile? }`; `*` for every request. */
  tiers: z.record(z.string().min(1), hedgeTierSchema).default({}),
  /** Whether a caller may hedge one request with `X-LLM-Hedge-Ms: <n>`. */
  header: z.boolean().default(false),
  /** No hedge starts sooner than this, whatever a header or a percentile says. */
  minDelayMs: delaySchema.default(50),
});
/** One tier's hedge delay, as `createSwitchyard` resolved it. */
export interface HedgeDelay {
  /** The delay, or with `percentile` the most it may be (and the delay until enough first bytes were seen). */
  delayMs: number;
  /** A percentile of the provider's recent times to first byte to wait instead. */
  percentile?: number | undefined;
}
/** Hedge settings (SPEC §5), as `createSwitchyard` resolved them. */
export interface HedgeSettings {
  /** Tier → its hedge delay; `*` for every request. */
  tiers: Record<string, HedgeDelay>;
  /** Whether `X-LLM-Hedge-Ms` may set a delay for one request. */
  header: boolean;
  /** No hedge starts sooner than this. */
  minDelayMs: number;
}

const retriesSchema = z.object({
  /** Retries after the first try of a model (SPEC §5): 429 rate limits, 5xx, connection errors, timeouts. */
  max: z.number().int().nonnegative().default(2),
  /** First backoff; doubles on each retry, with jitter. */
  baseDelayMs: delaySchema.default(250),
  /** Longest backoff between two tries. */
  maxDelayMs: delaySchema.default(4_000),
  /** Longest `Retry-After` / `retry-after-ms` honoured; an upstream asking for more is not retried. */
  retryAfterCapMs: delaySchema.default(10_000),
});
/**
 * Retries before the first byte, with backoff and jitter (SPEC §5).
 * @interface
 */
export type RetryOptions = z.output<typeof retriesSchema>;

const breakerSchema = z.object({
  /** Consecutive failures (connection, timeout, truncated stream, region block) that open a provider's circuit. */
  failureThreshold: z.number().int().positive().default(5),
  /** How long an open circuit fails fast before it lets one trial through (half-open). */
  cooldownMs: msSchema.default(30_000),
});
/**
 * The per-provider circuit breaker.
 * @interface
 */
export type BreakerOptions = z.output<typeof breakerSchema>;

/** Whether this process runs under a test runner: probes then stay off unless asked for, so tests make no stray calls. */
function underTest(): boolean {
  return process.env.VITEST !== undefined || process.env.NODE_ENV === 'test';
}

const probesSchema = z.object({
  /** Probe providers' base URLs (DNS → TCP → TLS → `GET /models`) at start-up and when a result is stale. Off under a test runner. */
  enabled: z.boolean().default(() => !underTest()),
  /** How long a probe result is fresh. */
  ttlMs: msSchema.default(60_000),
  /** Spread of the TTL, as a fraction (0.2: ±20%), so probes of many targets do not fire together. */
  jitter: z.number().min(0).max(1).default(0.2),
  /** Deadline of the DNS step. */
  dnsMs: msSchema.default(2_000),
  /** Deadline of the TCP connect step. */
  connectMs: msSchema.default(3_000),
  /** Deadline of the TLS handshake step. */
  tlsMs: msSchema.default(3_000),
  /** Deadline of the `GET /models` step. */
  httpMs: msSchema.default(5_000),
});
/**
 * Reachability probes per provider base URL.
 * @interface
 */
export type ProbeSettings = z.output<typeof probesSchema>;

const pathsSchema = z.object({
  /** `POST /api/chat`, the platform's own SSE stream. */
  chat: z.string().startsWith('/').default('/api/chat'),
  /** `POST /v1/chat/completions`, OpenAI-compatible. */
  chatCompletions: z.string().startsWith('/').default('/v1/chat/completions'),
  /** `POST /v1/responses`, OpenAI Responses-compatible. */
  responses: z.string().startsWith('/').default('/v1/responses'),
  /** `POST /v1/messages`, Anthropic-compatible. */
  messages: z.string().startsWith('/').default('/v1/messages'),
  /** `POST /v1/messages/count_tokens`, Anthropic-compatible. */
  countTokens: z.string().startsWith('/').default('/v1/messages/count_tokens'),
  /** `POST /v1/embeddings`, OpenAI-compatible. */
  embeddings: z.string().startsWith('/').default('/v1/embeddings'),
  /** `GET /v1/models`: tiers, aliases and the provider's models. */
  models: z.string().startsWith('/').default('/v1/models'),
  /** `GET /api/providers`: reachability of every provider. */
  providers: z.string().startsWith('/').default('/api/providers'),
});
/**
 * Where each endpoint is served.
 * @interface
 */
export type Paths = z.output<typeof pathsSchema>;

const limitsSchema = z.object({
  /** Largest request body accepted, in bytes. */
  bodyBytes: z.number().int().positive().default(1024 * 1024),
  /** Largest upstream response body read into memory (non-streaming answers and error bodies), in bytes. */
  upstreamBodyBytes: z.number().int().positive().default(16 * 1024 * 1024),
  /** Deepest JSON nesting accepted in a request body. */
  jsonDepth: z.number().int().positive().default(64),
});

/** What Switchyard needs of an OpenTelemetry tracer provider. */
export interface TracerProviderLike {
  /** Returns the tracer Switchyard's spans are started on. */
  getTracer(name: string, version?: string): unknown;
}

/** What Switchyard needs of an OpenTelemetry meter provider. */
export interface MeterProviderLike {
  /** Returns the meter Switchyard's instruments are created on. */
  getMeter(name: string, version?: string): unknown;
}

const telemetrySchema = z.object({
  /** Spans and metrics through `@opentelemetry/api` when it is installed (SPEC §10). With false the API is never loaded. */
  enabled: z.boolean().default(true),
  /** Record prompts and answers on request spans (`gen_ai.input.messages`, `gen_ai.output.messages`). Off: no text of either, ever. */
  captureContent: z.boolean().default(false),
  /** The `@opentelemetry/api` module, for apps whose bundler hides it from `require`; found by `require` otherwise. */
  api: z.custom<object>((value) => typeof value === 'object' && value !== null && 'trace' in value && 'metrics' in value, 'must be the @opentelemetry/api module').optional(),
  /** A tracer provider to use instead of the globally registered one. */
  tracerProvider: z.custom<TracerProviderLike>((value) => typeof (value as { getTracer?: unknown } | null)?.getTracer === 'function', 'must have getTracer()').optional(),
  /** A meter provider to use instead of the globally registered one. */
  meterProvider: z.custom<MeterProviderLike>((value) => typeof (value as { getMeter?: unknown } | null)?.getMeter === 'function', 'must have getMeter()').optional(),
});
/**
 * OpenTelemetry settings, as a user writes them.
 * @interface
 */
export type TelemetryOptions = z.input<typeof telemetrySchema>;
/**
 * OpenTelemetry settings, as `createSwitchyard` resolved them.
 * @interface
 */
export type TelemetrySettings = z.output<typeof telemetrySchema>;

const redisUrl = z.string().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL');
const redisClient = z.custom<Redis>(
  (value) => typeof value === 'object' && value !== null && typeof (value as { duplicate?: unknown }).duplicate === 'function',
  'must be an ioredis client',
);
const redisSettingsSchema = z
  .object({
    /** `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
    url: redisUrl.optional(),
    /** An ioredis client whose settings (TLS, Sentinel, auth) Switchyard reuses for its own connections. */
    client: redisClient.optional(),
    /** Prefix of every key and of the pub/sub channel; instances that share state share it. */
    keyPrefix: z.string().min(1).default('switchyard:'),
    /** Deadline of every Redis command: a request never waits longer on Redis. */
    commandTimeoutMs: msSchema.default(10),
    /** How often an instance compares its breakers and probes with Redis, in case a published change was lost. */
    reconcileMs: msSchema.default(5_000),
    /** Deadline of a (re)connection attempt; start-up waits at most this long for Redis. */
    connectTimeoutMs: msSchema.default(2_000),
  })
  .refine((settings) => settings.url !== undefined || settings.client !== undefined, 'needs a url or a client');
/**
 * Shared state through Redis, as settings (SPEC §9).
 * @interface
 */
export type RedisSettings = z.output<typeof redisSettingsSchema>;
const redisSchema = z.union([redisUrl, redisClient, redisSettingsSchema]);

const quotaLimitsSchema = z.object({
  /** Requests in any sliding minute. */
  requestsPerMinute: z.number().int().positive().optional(),
  /** Input plus output tokens per UTC day. */
  tokensPerDay: z.number().int().positive().optional(),
  /** USD per UTC day, from the price table (`prices`); a model without a price costs nothing here. */
  spendPerDay: z.number().positive().optional(),
});

const quotasSchema = z.object({
  /** Limits of each app token (needs `appTokens`). */
  appToken: quotaLimitsSchema.optional(),
  /** Limits of each caller key (`X-LLM-Api-Key`); requests on an operator key have none. */
  caller: quotaLimitsSchema.optional(),
  /** HMAC secret for the hashes that name app tokens and caller keys in the state; required with `redis`. */
  secret: z.string().min(16, 'use at least 16 characters').optional(),
  /** Output tokens reserved for a request that sets no `max_tokens`. */
  defaultOutputTokens: z.number().int().positive().default(1024),
  /** A reservation never settled (its process died mid-call) is reclaimed after this long; default: `timeouts.totalMs` plus a minute. */
  reservationTtlMs: msSchema.optional(),
});

/** The zod schema of `SwitchyardOptions`, which `createSwitchyard` validates at start-up. */
export const switchyardOptionsSchema = z.object({
  /** Where this server runs: `global` or `cn` (mainland China). */
  cluster: clusterSchema.default('global'),
  /** Providers by id: overrides merged onto the defaults of SPEC §3, or new OpenAI-compatible providers. */
  providers: z.record(providerId, z.looseObject({})).default({}),
  /** Whether to start from the providers of SPEC §3. */
  builtinProviders: z.boolean().default(true),
  /** Provider order used when a request names none. Defaults per cluster. */
  defaultProviders: z.array(z.string()).min(1).optional(),
  /** Whether callers may name a relay with `X-LLM-Base-Url`. */
  allowCallerBaseUrl: z.boolean().default(true),
  /** URL prefixes a caller may use beyond the public-https rule (internal relays). */
  allowedBaseUrls: z.array(z.string().min(1)).default([]),
  /** Named agents for `/api/chat`: a system prompt and a default tier. */
  agents: z.record(z.string().min(1), agentSchema).default({ App: { systemPrompt: 'You are a helpful assistant.', tier: 'general' } }),
  /** USD per million tokens, merged onto the defaults. */
  prices: z
    .record(
      z.string(),
      z.object({
        /** Per million input tokens. */
        input: z.number().nonnegative(),
        /** Per million output tokens. */
        output: z.number().nonnegative(),
      }),
    )
    .default({}),
  /** Deadlines of every upstream attempt (SPEC §5). */
  timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
  /** Timeouts per tier, over `timeouts` (an `expert` tier may think for minutes before its first byte). */
  tierTimeouts: z.record(z.string().min(1), timeoutsSchema.partial()).default({}),
  /** Retries before the first byte: 429 rate limits, 5xx, connection errors and timeouts. */
  retries: retriesSchema.default(retriesSchema.parse({})),
  /** Continue a stream that broke or stalled after the commit on another candidate, spliced into the same answer (SPEC §5). Off unless set. */
  resume: resumeSchema.optional(),
  /** Start a second attempt when the first byte is late; the first to answer wins (SPEC §5). Off unless set. */
  hedge: hedgeSchema.optional(),
  /** The per-provider circuit breaker. */
  breaker: breakerSchema.default(breakerSchema.parse({})),
  /** Reachability probes (DNS → TCP → TLS → `GET /models`). */
  probes: probesSchema.default(() => probesSchema.parse({})),
  /** Silence after which `/api/chat` sends a `heartbeat` event and `/v1` streams a `: ping` comment. */
  heartbeatMs: msSchema.default(15_000),
  /** Provider ids that may take a request across providers, in order (operator keys only). */
  failover: z.array(z.string()).default([]),
  /** When set, `/api/*` and `/v1/*` need one of these as the Bearer token. */
  appTokens: z.array(z.string().min(1)).optional(),
  /** Accept `llm_provider`, `llm_api_key` and `llm_base_url` in the query of upgrade requests. */
  queryCredentials: z.boolean().default(false),
  /** Origins (`https://app.example.com`) besides the server's own whose pages may open the WebSocket chat; `*` allows any. */
  allowedOrigins: z.array(z.string().min(1)).default([]),
  /** Where each endpoint is served. */
  paths: pathsSchema.default(pathsSchema.parse({})),
  /** Size limits of request and upstream bodies. */
  limits: limitsSchema.default(limitsSchema.parse({})),
  /** Provider adapters by provider id, for providers that do not speak the OpenAI protocol. */
  adapters: z
    .record(z.string(), z.custom<Provider>((value) => typeof value === 'object' && value !== null && ('doGenerate' in value || 'doChat' in value), 'must implement Provider (v2 doGenerate, or v1 doChat)'))
    .optional(),
  /**
   * Shared state for many instances (SPEC §9): a `redis://` URL, an ioredis client, or settings. Unset: in-process
   * state, one instance.
   */
  redis: redisSchema.optional(),
  /** Limits per app token and per caller key: requests per minute, tokens and spend per UTC day (SPEC §9). */
  quotas: quotasSchema.optional(),
  /** Called when the shared state's standing changes (joined Redis, running alone, rejoined), for the operator's logs. */
  onStateChange: z.custom<(event: StateStatusEvent) => void>((value) => typeof value === 'function', 'must be a function').optional(),
  /** Called once per request served, with a log entry that never carries a key. */
  onRequest: z.custom<(entry: RequestLogEntry) => void>((value) => typeof value === 'function', 'must be a function').optional(),
  /** Traces and metrics through OpenTelemetry (SPEC §10); `false` turns both off. */
  telemetry: z.preprocess((value) => (value === false ? { enabled: false } : value), telemetrySchema).default(() => telemetrySchema.parse({})),
  /** Replaces DNS resolution for upstream calls (tests point provider host names at loopback). */
  lookup: z.custom<LookupFunction>((value) => typeof value === 'function', 'must be a function').optional(),
});

/** Options for `createSwitchyard`, as a user writes them. */
export type SwitchyardOptions = Omit<z.input<typeof switchyardOptionsSchema>, 'providers' | 'telemetry'> & {
  /** Providers by id: overrides merged onto the defaults of SPEC §3, or new OpenAI-compatible providers. */
  providers?: Record<string, Partial<ProviderSettings>>;
  /** Traces and metrics through OpenTelemetry (SPEC §10); `false` turns both off. */
  telemetry?: false | TelemetryOptions;
};

/** A tier or alias name as the router looks it up. */
export interface ModelName {
  /** The name as configured (`general`, `DeepSeekFlash`, `豆包`). */
  name: string;
  /** Whether the name is a tier or an alias. */
  kind: 'tier' | 'alias';
  /** The tier an alias points to, or the tier itself. */
  tier: string | undefined;
  /** The model ids it stands for, in order. */
  candidates: readonly string[];
}

/** A provider after validation, with lookups precomputed for the hot path. */
export interface ResolvedProvider {
  /** The provider id (`openai`, `dashscope`, …). */
  id: string;
  /** Human-readable name. */
  label: string;
  /** The wires it speaks natively, preferred first. */
  wires: readonly Wire[];
  /** The base URL for this cluster. */
  baseUrl: string;
  /** Base URLs of wires served elsewhere than `baseUrl`. */
  wireBaseUrls: Readonly<Partial<Record<Wire, string>>>;
  /** Whether its `messages` wire has Anthropic's exact `/messages/count_tokens`. */
  countTokens: boolean;
  /** How a chat upstream is asked to think. */
  reasoningParameter: ReasoningParameter;
  /** Whether a chat upstream honours Anthropic-style `cache_control` on content parts. */
  cacheControl: boolean;
  /** How a broken answer is continued here (resume). */
  continuation: 'prefill' | 'partial' | 'prefix' | 'instruction';
  /** How the key is sent. */
  auth: 'bearer' | 'api-key' | 'none';
  /** The operator's key, if configured. */
  apiKey: string | undefined;
  /** Clusters it is reachable from by policy. */
  clusters: readonly Cluster[];
  /** Reachable from the running cluster by policy (declared, or an egress base URL configured for it). */
  reachableByPolicy: boolean;
  /** Tier name → model candidates, in order. */
  tiers: Readonly<Record<string, readonly string[]>>;
  /** Alias → a tier name or a model id. */
  aliases: Readonly<Record<string, string>>;
  /** Lower-cased tier and alias names → what they name. */
  names: ReadonlyMap<string, ModelName>;
}

/** Options after validation, with defaults applied and lookups precomputed. */
export interface ResolvedConfig {
  /** Where this server runs. */
  cluster: Cluster;
  /** Providers by id. */
  providers: ReadonlyMap<string, ResolvedProvider>;
  /** Provider ids in the order used when a request names none (only those that exist). */
  defaultProviders: readonly string[];
  /** Whether callers may name a relay with `X-LLM-Base-Url`. */
  allowCallerBaseUrl: boolean;
  /** URL prefixes a caller may use beyond the public-https rule. */
  allowedBaseUrls: readonly string[];
  /** Named agents for `/api/chat`. */
  agents: Readonly<
    Record<
      string,
      {
        /** The system message. */
        systemPrompt: string;
        /** The default tier. */
        tier: string;
      }
    >
  >;
  /** USD per million tokens, by model. */
  prices: Readonly<
    Record<
      string,
      {
        /** Per million input tokens. */
        input: number;
        /** Per million output tokens. */
        output: number;
      }
    >
  >;
  /** Deadlines of every upstream attempt. */
  timeouts: Timeouts;
  /** Deadlines per tier, over `timeouts`. */
  tierTimeouts: Readonly<Record<string, Partial<Timeouts>>>;
  /** Retries before the first byte. */
  retries: RetryOptions;
  /** Resume after a break (SPEC §5); undefined: off, the header ignored. */
  resume: ResumeSettings | undefined;
  /** Hedge a late first byte (SPEC §5); undefined: off, the header ignored. */
  hedge: HedgeSettings | undefined;
  /** The per-provider circuit breaker. */
  breaker: BreakerOptions;
  /** Reachability probes. */
  probes: ProbeSettings;
  /** Silence before a heartbeat event or ping comment. */
  heartbeatMs: number;
  /** Provider ids that may take a request across providers, in order. */
  failover: readonly string[];
  /** App tokens `/api/*` and `/v1/*` need, when set. */
  appTokens: readonly string[] | undefined;
  /** Whether upgrade requests may carry `llm_*` credentials in the query. */
  queryCredentials: boolean;
  /** Origins besides the server's own whose pages may open the WebSocket chat; lower-cased, without a trailing slash. */
  allowedOrigins: readonly string[];
  /** Where each endpoint is served. */
  paths: Paths;
  /** Size limits of request and upstream bodies. */
  limits: z.output<typeof limitsSchema>;
  /** Where shared state lives; undefined: in this process. */
  redis: RedisSettings | undefined;
  /** Limits per app token and per caller; undefined when none is set. */
  quotas: QuotaSettings | undefined;
  telemetry: TelemetrySettings;
}

/** Thrown at start-up when the options are wrong; `issues` lists every problem. */
export class SwitchyardConfigError extends Error {
  /** Always `SwitchyardConfigError`. */
  override readonly name = 'SwitchyardConfigError';
  /**
   * An error listing every problem of the options.
   * @param issues Every problem found, one line each (`path: message`).
   */
  constructor(readonly issues: string[]) {
    super(`Invalid Switchyard configuration:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
  }
}

function formatIssues(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${path || '(root)'}: ${issue.message}`;
  });
}

function buildNames(tiers: Record<string, string[]>, aliases: Record<string, string>): Map<string, ModelName> {
  const names = new Map<string, ModelName>();
  for (const [alias, target] of Object.entries(aliases)) {
    const tier = tiers[target];
    names.set(alias.toLowerCase(), { name: alias, kind: 'alias', tier: tier ? target : undefined, candidates: tier ?? [target] });
  }
  // Tiers win over aliases of the same name.
  for (const [tier, candidates] of Object.entries(tiers)) {
    names.set(tier.toLowerCase(), { name: tier, kind: 'tier', tier, candidates });
  }
  return names;
}

type ParsedOptions = z.output<typeof switchyardOptionsSchema>;

function parseOptions(options: unknown): { o: ParsedOptions; issues: string[] } {
  const parsed = switchyardOptionsSchema.safeParse(options);
  if (parsed.success) return { o: parsed.data, issues: [] };
  // Keep checking providers and references, so one error lists every problem: a field that failed falls back to its default.
  const raw = (typeof options === 'object' && options !== null ? options : {}) as Record<string, unknown>;
  const o: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(switchyardOptionsSchema.shape)) {
    const field = schema.safeParse(raw[key]);
    o[key] = field.success ? field.data : schema.safeParse(undefined).data;
  }
  return { o: o as ParsedOptions, issues: formatIssues(parsed.error, '') };
}

/** Validates options and precomputes what the hot path needs. Throws `SwitchyardConfigError` listing every problem. */
export function resolveConfig(options: SwitchyardOptions = {}): ResolvedConfig {
  const { o, issues } = parseOptions(options);
  const providers = new Map<string, ResolvedProvider>();
  const ids = new Set([...(o.builtinProviders ? Object.keys(DEFAULT_PROVIDERS) : []), ...Object.keys(o.providers)]);
  for (const id of ids) {
    const base = o.builtinProviders ? DEFAULT_PROVIDERS[id] : undefined;
    const override = (o.providers[id] ?? {}) as Partial<ProviderSettings>;
    const merged = {
      ...base,
      ...override,
      // An operator's base URL replaces the default's per-cluster URLs too: the operator said where to go.
      clusterBaseUrls: override.baseUrl === undefined ? { ...base?.clusterBaseUrls, ...override.clusterBaseUrls } : { ...override.clusterBaseUrls },
      // An operator's tiers replace the default tier of the same name; other default tiers stay.
      tiers: { ...base?.tiers, ...override.tiers },
      aliases: { ...base?.aliases, ...override.aliases },
    };
    const result = providerSettingsSchema.safeParse(merged);
    if (!result.success) {
      issues.push(...formatIssues(result.error, `providers.${id}`));
      continue;
    }
    const p = result.data;
    // An operator's own `baseUrl` beats a built-in per-cluster URL; an operator's per-cluster URL beats both.
    const ownClusterUrl = override.clusterBaseUrls?.[o.cluster] !== undefined;
    const clusterUrl = ownClusterUrl || override.baseUrl === undefined ? p.clusterBaseUrls[o.cluster] : undefined;
    providers.set(id, {
      id,
      label: p.label ?? id,
      wires: p.wires,
      baseUrl: clusterUrl ?? p.baseUrl,
      wireBaseUrls: p.wireBaseUrls,
      countTokens: p.countTokens,
      reasoningParameter: p.reasoningParameter,
      cacheControl: p.cacheControl,
      continuation: p.continuation,
      auth: p.auth,
      apiKey: p.apiKey,
      clusters: p.clusters,
      reachableByPolicy: p.clusters.includes(o.cluster) || (clusterUrl !== undefined && ownClusterUrl),
      tiers: p.tiers,
      aliases: p.aliases,
      names: buildNames(p.tiers, p.aliases),
    });
  }
  const defaultProviders = o.defaultProviders ?? DEFAULT_PROVIDER_ORDER[o.cluster];
  if (o.defaultProviders) {
    for (const id of o.defaultProviders) if (!ids.has(id)) issues.push(`defaultProviders: unknown provider "${id}"`);
  }
  for (const id of o.failover) if (!ids.has(id)) issues.push(`failover: unknown provider "${id}"`);
  for (const [name, agent] of Object.entries(o.agents)) {
    if (!agent.tier) issues.push(`agents.${name}.tier: required`);
  }
  const redis = o.redis === undefined ? undefined : typeof o.redis === 'string' ? redisSettingsSchema.parse({ url: o.redis }) : 'duplicate' in o.redis ? redisSettingsSchema.parse({ client: o.redis }) : o.redis;
  const quotas = resolveQuotas(o, redis !== undefined, issues);
  if (issues.length > 0) throw new SwitchyardConfigError(issues);
  const existingDefaults = defaultProviders.filter((id) => providers.has(id));
  if (existingDefaults.length === 0) {
    const first = providers.keys().next();
    if (first.done) throw new SwitchyardConfigError(['providers: at least one provider is needed']);
    existingDefaults.push(first.value);
  }
  return {
    cluster: o.cluster,
    providers,
    defaultProviders: existingDefaults,
    allowCallerBaseUrl: o.allowCallerBaseUrl,
    allowedBaseUrls: o.allowedBaseUrls,
    agents: o.agents,
    prices: { ...DEFAULT_PRICES, ...o.prices },
    timeouts: o.timeouts,
    tierTimeouts: o.tierTimeouts,
    retries: o.retries,
    resume: o.resume && (o.resume.tiers.length > 0 || o.resume.header) ? o.resume : undefined,
    hedge: o.hedge && (Object.keys(o.hedge.tiers).length > 0 || o.hedge.header) ? o.hedge : undefined,
    breaker: o.breaker,
    probes: o.probes,
    heartbeatMs: o.heartbeatMs,
    failover: o.failover,
    appTokens: o.appTokens,
    queryCredentials: o.queryCredentials,
    allowedOrigins: o.allowedOrigins.map((origin) => origin.trim().toLowerCase().replace(/\/+$/, '')),
    paths: o.paths,
    limits: o.limits,
    telemetry: o.telemetry,
    redis,
    quotas,
  };
}

function resolveQuotas(o: ParsedOptions, shared: boolean, issues: string[]): QuotaSettings | undefined {
  const quotas = o.quotas;
  const limited = (limits: z.output<typeof quotaLimitsSchema> | undefined) =>
    limits !== undefined && (limits.requestsPerMinute !== undefined || limits.tokensPerDay !== undefined || limits.spendPerDay !== undefined);
  if (!quotas || (!limited(quotas.appToken) && !limited(quotas.caller))) return undefined;
  if (limited(quotas.appToken) && !o.appTokens) issues.push('quotas.appToken: limits per app token need appTokens');
  // Instances must hash tokens and keys alike to count them together; a per-process random secret would not.
  if (shared && !quotas.secret) issues.push('quotas.secret: required with redis, so every instance names app tokens and caller keys by the same hash');
  return {
    appToken: limited(quotas.appToken) ? quotas.appToken : undefined,
    caller: limited(quotas.caller) ? quotas.caller : undefined,
    secret: quotas.secret,
    defaultOutputTokens: quotas.defaultOutputTokens,
    reservationTtlMs: quotas.reservationTtlMs ?? o.timeouts.totalMs + 60_000,
  };
}

const ENV_PROVIDERS: Array<{ id: string; key: string; baseUrl: string }> = [
  { id: 'openai', key: 'OPENAI_API_KEY', baseUrl: 'OPENAI_BASE_URL' },
  { id: 'anthropic', key: 'ANTHROPIC_API_KEY', baseUrl: 'ANTHROPIC_BASE_URL' },
  { id: 'deepseek', key: 'DEEPSEEK_API_KEY', baseUrl: 'DEEPSEEK_BASE_URL' },
  { id: 'gemini', key: 'GEMINI_API_KEY', baseUrl: 'GEMINI_BASE_URL' },
  { id: 'dashscope', key: 'DASHSCOPE_API_KEY', baseUrl: 'DASHSCOPE_BASE_URL' },
  { id: 'volcengine', key: 'ARK_API_KEY', baseUrl: 'ARK_BASE_URL' },
];

function list(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * Options from the environment of SPEC §8: `LLM_CLUSTER`, operator keys and relays, allowlist, app tokens, failover,
 * `REDIS_URL` (with `SWITCHYARD_REDIS_TIMEOUT_MS`, `SWITCHYARD_REDIS_PREFIX`), quotas (`SWITCHYARD_APP_TOKEN_*`, `SWITCHYARD_CALLER_*`: `RPM`, `TOKENS_PER_DAY`, `SPEND_PER_DAY`;
 * `SWITCHYARD_QUOTA_SECRET`) the breaker (`SWITCHYARD_BREAKER_FAILURES`, `SWITCHYARD_BREAKER_COOLDOWN_MS`) and content capture
 * (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`).
 * Throws `SwitchyardConfigError` naming every variable that is not a number where one is needed.
 */
export function optionsFromEnv(env: Record<string, string | undefined> = process.env): SwitchyardOptions {
  // Unset and empty both mean the default, as for the other variables.
  const cluster = (env.LLM_CLUSTER?.trim() || 'global') as Cluster;
  const providers: Record<string, Partial<ProviderSettings>> = {};
  for (const { id, key, baseUrl } of ENV_PROVIDERS) {
    const settings: Partial<ProviderSettings> = {};
    const apiKey = env[key]?.trim();
    if (apiKey) settings.apiKey = apiKey;
    const url = env[baseUrl]?.trim();
    // An operator relay is trusted: it serves this cluster, which also makes the provider reachable here by policy.
    if (url) settings.clusterBaseUrls = { [cluster]: url };
    if (Object.keys(settings).length > 0) providers[id] = settings;
  }
  const options: SwitchyardOptions = { cluster, providers };
  const allowed = list(env.SWITCHYARD_ALLOWED_BASE_URLS);
  if (allowed) options.allowedBaseUrls = allowed;
  const tokens = list(env.SWITCHYARD_APP_TOKENS);
  if (tokens) options.appTokens = tokens;
  // Provider ids are lower-case; `SWITCHYARD_FAILOVER=DashScope` means dashscope.
  const failover = list(env.SWITCHYARD_FAILOVER)?.map((id) => id.toLowerCase());
  if (failover) options.failover = failover;
  // The OpenTelemetry GenAI instrumentations' own switch for recording prompts and answers (off unless "true").
  if (env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT?.trim().toLowerCase() === 'true') options.telemetry = { captureContent: true };
  const issues: string[] = [];
  const number = (name: string, integer = true): number | undefined => {
    const raw = env[name]?.trim();
    if (!raw) return undefined;
    const value = Number(raw);
    if (!(value > 0) || (integer && !Number.isInteger(value))) {
      issues.push(`${name}: must be a positive ${integer ? 'whole ' : ''}number`);
      return undefined;
    }
    return value;
  };
  const redis = env.REDIS_URL?.trim();
  const commandTimeoutMs = number('SWITCHYARD_REDIS_TIMEOUT_MS');
  const keyPrefix = env.SWITCHYARD_REDIS_PREFIX?.trim();
  if (redis) options.redis = commandTimeoutMs || keyPrefix ? { url: redis, commandTimeoutMs, keyPrefix: keyPrefix || undefined } : redis;
  const breaker = { failureThreshold: number('SWITCHYARD_BREAKER_FAILURES'), cooldownMs: number('SWITCHYARD_BREAKER_COOLDOWN_MS') };
  if (breaker.failureThreshold !== undefined || breaker.cooldownMs !== undefined) options.breaker = breaker;
  const limitsFrom = (scope: string) => {
    const limits = {
      requestsPerMinute: number(`SWITCHYARD_${scope}_RPM`),
      tokensPerDay: number(`SWITCHYARD_${scope}_TOKENS_PER_DAY`),
      spendPerDay: number(`SWITCHYARD_${scope}_SPEND_PER_DAY`, false),
    };
    return Object.values(limits).some((value) => value !== undefined) ? limits : undefined;
  };
  const appToken = limitsFrom('APP_TOKEN');
  const caller = limitsFrom('CALLER');
  const secret = env.SWITCHYARD_QUOTA_SECRET?.trim();
  if (appToken || caller) options.quotas = { appToken, caller, ...(secret ? { secret } : {}) };
  if (issues.length > 0) throw new SwitchyardConfigError(issues);
  return options;
}

/** Whether any operator key is configured (the demo starts its sandbox when none is). */
export function hasOperatorKey(config: ResolvedConfig): boolean {
  for (const provider of config.providers.values()) if (provider.apiKey) return true;
  return false;
}
