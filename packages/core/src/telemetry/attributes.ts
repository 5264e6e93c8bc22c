/**
 * Attribute names and values of SPEC §10: OpenTelemetry's GenAI conventions where they have a name, `switchyard.*`
 * where they do not. Every value here is low-cardinality on metrics (bounded sets); spans may also carry model names.
 */

export const ATTR = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  tokenType: 'gen_ai.token.type',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  httpStatus: 'http.response.status_code',
  endpoint: 'switchyard.endpoint',
  cluster: 'switchyard.cluster',
  outcome: 'switchyard.outcome',
  attempts: 'switchyard.attempts',
  attemptNumber: 'switchyard.attempt.number',
  attemptKind: 'switchyard.attempt.kind',
  attemptOutcome: 'switchyard.attempt.outcome',
  resumes: 'switchyard.resumes',
  hedge: 'switchyard.hedge',
  fallbackReason: 'switchyard.fallback_reason',
  failoverFrom: 'switchyard.failover.from',
  cost: 'switchyard.cost',
  clientAborted: 'switchyard.client_aborted',
  breakerState: 'switchyard.breaker.state',
  probeStatus: 'switchyard.probe.status',
} as const;

/**
 * Why an upstream attempt was made: the first try of a route, a retry of the same model, the next model candidate,
 * another provider (failover), and later a continuation after a break (resume) or a second racer (hedge).
 */
export type AttemptKind = 'first' | 'retry' | 'candidate' | 'failover' | 'resume' | 'hedge';

/** How a request ended, on metrics: `ok`, `error` (any error code, before or after the commit), `client_aborted`. */
export type Outcome = 'ok' | 'error' | 'client_aborted';

/** `gen_ai.operation.name` per endpoint; endpoints without one (models, providers) get no request span. */
export const OPERATIONS: Readonly<Record<string, string>> = {
  chat: 'chat',
  chatCompletions: 'chat',
  embeddings: 'embeddings',
  messages: 'chat',
  responses: 'chat',
};

/** The conventions' well-known `gen_ai.provider.name` values, where a built-in provider id differs from it. */
const PROVIDER_NAMES: Readonly<Record<string, string>> = { gemini: 'gcp.gemini' };

/** `gen_ai.provider.name` for a provider id: the convention's value for a known provider, the id otherwise. */
export function providerName(id: string): string {
  return PROVIDER_NAMES[id] ?? id;
}

/** What a model name becomes on metrics when the configuration does not know it: callers may send any model id. */
export const OTHER_MODEL = '_OTHER';

/** `server.address` and `server.port` of a base URL; undefined when it does not parse. */
export function serverOf(baseUrl: string): { address: string; port: number } | undefined {
  try {
    const url = new URL(baseUrl);
    const port = url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
    // Brackets are URL syntax, not part of an IPv6 address.
    return { address: url.hostname.replace(/^\[|\]$/g, ''), port };
  } catch {
    return undefined;
  }
}
