import type { Attributes, BatchObservableResult, Meter, Observable } from '@opentelemetry/api';
import type { ErrorCode } from '../errors.js';
import type { RequestLogEntry } from '../request-log.js';
import { ATTR, type Outcome, OTHER_MODEL, providerName } from './attributes.js';

/** The instruments of SPEC §10, by name. Units follow OpenTelemetry (seconds, `{token}`); Prometheus adds suffixes. */
export const METRIC_NAMES = {
  /** Counter: every request served, by endpoint, provider, model, outcome, error type and cluster. */
  requests: 'switchyard.requests',
  /** Histogram (s): request duration, arrival to last byte, for endpoints that call a model (GenAI convention). */
  duration: 'gen_ai.client.operation.duration',
  /** Histogram (s): arrival to the first body byte of the answer. */
  timeToFirstByte: 'switchyard.request.time_to_first_byte',
  /** Histogram ({token}): input and output tokens per request (GenAI convention, `gen_ai.token.type`). */
  tokens: 'gen_ai.client.token.usage',
  /** Counter (USD): cost from the price table. */
  cost: 'switchyard.cost',
  /** Counter: retries of the same model after a retryable failure. */
  retries: 'switchyard.retries',
  /** Counter: requests taken to another provider. */
  failovers: 'switchyard.failovers',
  /** Counter: streams continued on another candidate after a break (SPEC §5 resume). */
  resumes: 'switchyard.resumes',
  /** Counter: second attempts started because the first byte was late (SPEC §5 hedge). */
  hedges: 'switchyard.hedges',
  /** Gauge: 1 for each provider's current breaker state (`closed`, `half_open`, `open`), 0 for the others. */
  breakerState: 'switchyard.breaker.state',
  /** Gauge: 1 when the provider's last probe reached it, 0 when not; absent before a probe. */
  probeReachable: 'switchyard.probe.reachable',
  /** Gauge (s): the last probe's duration. */
  probeDuration: 'switchyard.probe.duration',
  /** Gauge: 1 while shared state (Redis) answers, 0 while this instance runs on its own state. */
  sharedStateUp: 'switchyard.shared_state.up',
} as const;

// Bucket boundaries the GenAI conventions recommend for operation durations and token counts.
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const FIRST_BYTE_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const BREAKER_STATES = ['closed', 'half_open', 'open'] as const;

/** What the gauges read when metrics are collected (never on the request path). */
export interface MetricSources {
  cluster: string;
  /** Model ids the configuration knows (tiers, aliases, prices); any other is `_OTHER` on metrics. */
  knownModels: ReadonlySet<string>;
  /** Breaker state and last probe per provider. */
  providers(): Iterable<{ id: string; breaker: string; probe?: { reachable: boolean; latencyMs: number | null } | undefined }>;
  /** Shared-state health, once Switchyard shares state between instances (SPEC §9); the gauge exists only with it. */
  sharedState?: (() => { up: boolean; backend: string } | undefined) | undefined;
}

/** Where the request path records; one per meter. */
export interface SwitchyardMetrics {
  /** One finished request, from its log entry; `served` is the attempt that answered, when one did. */
  request(entry: RequestLogEntry, served: { provider: string; model: string } | undefined, operation: string | undefined): void;
  retry(provider: string, code: ErrorCode): void;
  failover(from: string, to: string, code: ErrorCode | undefined): void;
  resume(provider: string): void;
  hedge(provider: string): void;
  /** Stops the gauges' callbacks (a closed Switchyard is no longer observed). */
  close(): void;
}

/** How a request ended, from its log entry. */
export function outcomeOf(entry: RequestLogEntry): Outcome {
  if (entry.clientAborted) return 'client_aborted';
  return entry.code !== undefined || entry.streamError !== undefined ? 'error' : 'ok';
}

/** Creates the instruments on `meter` and registers the gauges' callback. */
export function createSwitchyardMetrics(meter: Meter, sources: MetricSources): SwitchyardMetrics {
  const { cluster, knownModels } = sources;
  const requests = meter.createCounter(METRIC_NAMES.requests, { description: 'Requests served by Switchyard.', unit: '{request}' });
  const duration = meter.createHistogram(METRIC_NAMES.duration, {
    description: 'Duration of a model call through Switchyard, retries and failover included.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const firstByte = meter.createHistogram(METRIC_NAMES.timeToFirstByte, {
    description: 'Time from the request to the first byte of the answer body.',
    unit: 's',
    advice: { explicitBucketBoundaries: FIRST_BYTE_BUCKETS },
  });
  const tokens = meter.createHistogram(METRIC_NAMES.tokens, {
    description: 'Input and output tokens per request, as the provider reported them.',
    unit: '{token}',
    advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
  });
  const cost = meter.createCounter(METRIC_NAMES.cost, { description: 'Cost of answers in USD, from the price table.', unit: 'USD' });
  const retries = meter.createCounter(METRIC_NAMES.retries, { description: 'Retries of the same model after a retryable failure.', unit: '{retry}' });
  const failovers = meter.createCounter(METRIC_NAMES.failovers, { description: 'Requests taken to another provider.', unit: '{failover}' });
  const resumes = meter.createCounter(METRIC_NAMES.resumes, { description: 'Broken streams continued on another candidate.', unit: '{resume}' });
  const hedges = meter.createCounter(METRIC_NAMES.hedges, { description: 'Second attempts started because the first byte was late.', unit: '{hedge}' });

  const breaker = meter.createObservableGauge(METRIC_NAMES.breakerState, { description: 'Circuit breaker state per provider: 1 for the current state.', unit: '1' });
  const probeReachable = meter.createObservableGauge(METRIC_NAMES.probeReachable, { description: "Whether the provider's last probe reached it.", unit: '1' });
  const probeDuration = meter.createObservableGauge(METRIC_NAMES.probeDuration, { description: "Duration of the provider's last probe.", unit: 's' });
  const observables: Observable[] = [breaker, probeReachable, probeDuration];
  const sharedState = sources.sharedState ? meter.createObservableGauge(METRIC_NAMES.sharedStateUp, { description: 'Whether shared state answers.', unit: '1' }) : undefined;
  if (sharedState) observables.push(sharedState);

  const observe = (result: BatchObservableResult) => {
    for (const provider of sources.providers()) {
      const name = providerName(provider.id);
      for (const state of BREAKER_STATES) result.observe(breaker, provider.breaker === state ? 1 : 0, { [ATTR.provider]: name, [ATTR.breakerState]: state, [ATTR.cluster]: cluster });
      if (provider.probe) {
        result.observe(probeReachable, provider.probe.reachable ? 1 : 0, { [ATTR.provider]: name, [ATTR.cluster]: cluster });
        if (provider.probe.latencyMs !== null) result.observe(probeDuration, provider.probe.latencyMs / 1000, { [ATTR.provider]: name, [ATTR.cluster]: cluster });
      }
    }
    const shared = sources.sharedState?.();
    if (sharedState && shared) result.observe(sharedState, shared.up ? 1 : 0, { 'switchyard.shared_state.backend': shared.backend, [ATTR.cluster]: cluster });
  };
  meter.addBatchObservableCallback(observe, observables);

  return {
    request(entry, served, operation) {
      const attributes: Attributes = { [ATTR.endpoint]: entry.endpoint ?? 'unknown', [ATTR.outcome]: outcomeOf(entry), [ATTR.cluster]: cluster };
      const provider = served?.provider ?? entry.provider;
      const model = served?.model ?? entry.model;
      const code = entry.code ?? entry.streamError;
      if (operation !== undefined) attributes[ATTR.operation] = operation;
      if (provider !== undefined) attributes[ATTR.provider] = providerName(provider);
      // A caller may ask for any model id: only configured ones become label values.
      if (model !== undefined) attributes[ATTR.responseModel] = knownModels.has(model) ? model : OTHER_MODEL;
      if (code !== undefined) attributes[ATTR.errorType] = code;
      requests.add(1, attributes);
      if (operation === undefined) return;
      duration.record(entry.durationMs / 1000, attributes);
      if (entry.firstByteMs !== undefined) firstByte.record(entry.firstByteMs / 1000, attributes);
      if (entry.inputTokens !== undefined || entry.outputTokens !== undefined) {
        // The conventions' attributes only: every attribute costs the SDK a share of a hash per record.
        const base = { [ATTR.operation]: operation, [ATTR.provider]: attributes[ATTR.provider], [ATTR.responseModel]: attributes[ATTR.responseModel], [ATTR.endpoint]: attributes[ATTR.endpoint] };
        if (entry.inputTokens !== undefined) tokens.record(entry.inputTokens, { ...base, [ATTR.tokenType]: 'input' });
        if (entry.outputTokens !== undefined) tokens.record(entry.outputTokens, { ...base, [ATTR.tokenType]: 'output' });
      }
      if (typeof entry.cost === 'number' && entry.cost > 0) cost.add(entry.cost, attributes);
    },
    retry(provider, code) {
      retries.add(1, { [ATTR.provider]: providerName(provider), [ATTR.errorType]: code, [ATTR.cluster]: cluster });
    },
    failover(from, to, code) {
      const attributes: Attributes = { [ATTR.failoverFrom]: providerName(from), [ATTR.provider]: providerName(to), [ATTR.cluster]: cluster };
      if (code !== undefined) attributes[ATTR.errorType] = code;
      failovers.add(1, attributes);
    },
    resume(provider) {
      resumes.add(1, { [ATTR.provider]: providerName(provider), [ATTR.cluster]: cluster });
    },
    hedge(provider) {
      hedges.add(1, { [ATTR.provider]: providerName(provider), [ATTR.cluster]: cluster });
    },
    close() {
      meter.removeBatchObservableCallback(observe, observables);
    },
  };
}
