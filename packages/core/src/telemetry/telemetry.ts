import type { Context, Meter, MeterProvider, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import type { TelemetrySettings } from '../config.js';
import type { ErrorCode } from '../errors.js';
import { redactSecrets } from '../redact.js';
import type { RequestLogEntry } from '../request-log.js';
import { ATTR, type AttemptKind, OPERATIONS, providerName, serverOf } from './attributes.js';
import { contentJson, createOutputCapture, inputMessages, type OutputCapture, outputMessages } from './content.js';
import { createSwitchyardMetrics, type MetricSources, type SwitchyardMetrics } from './metrics.js';
import { loadOpenTelemetryApi, type OpenTelemetryApi } from './otel-api.js';

/** The instrumentation scope of every span and instrument. */
export const INSTRUMENTATION_SCOPE = '@switchyard/core';

/** One try as the request span reads it (the router's `AttemptRecord` has this shape). */
export interface AttemptSummary {
  provider: string;
  model: string;
  status: 'ok' | 'failed' | 'aborted';
}

/** What an upstream attempt span is about. */
export interface AttemptSpanInfo {
  /** Provider id. */
  provider: string;
  /** The concrete model asked of the upstream. */
  model: string;
  /** The base URL called: its host and port become `server.address` and `server.port`. */
  baseUrl: string;
  kind: AttemptKind;
  /** 1-based position among the request's attempts. */
  number: number;
  /** The caller's key, masked wherever a caller-typed value (a model id, a relay host) lands in an attribute. */
  secret?: string | undefined;
}

/** An open attempt span. */
export interface AttemptSpan {
  /** Runs `fn` with this span active, so an HTTP client's own spans nest under it. */
  within<T>(fn: () => T): T;
  /** The attempt answered: ended now, or with its request when it feeds the request's answer (usage lands on it then). */
  succeed(): void;
  /** The attempt failed with `code`: `error.type`, error status, ended. */
  fail(code: ErrorCode): void;
  /** Another attempt answered first (a hedge's loser): ended without an error, `switchyard.attempt.outcome` `superseded`. */
  abandon(): void;
  /** Its answer broke after the commit with `code` (the request goes on, resumed elsewhere): error status, ended. */
  broke(code: ErrorCode): void;
}

/** The span of one request, open while the endpoint runs. */
export interface RequestTrace {
  readonly operation: string;
  /** Runs `fn` with the request span active: attempt spans become its children. */
  within<T>(fn: () => T): T;
  /** With content capture on: the request body, once the endpoint read it. */
  input: unknown;
  /** With content capture on: the answer's bytes. */
  readonly output: OutputCapture | undefined;
}

/** Spans and metrics of one Switchyard; the request path calls it only when `enabled`. */
export interface Telemetry {
  /** Whether the API is present and telemetry on: request ends are reported (a cheap no-op without an SDK). */
  readonly enabled: boolean;
  readonly captureContent: boolean;
  /** Opens the request span under the app's active span; undefined when no span would record. */
  startRequest(endpoint: string | undefined, cluster: string): RequestTrace | undefined;
  /** Records the request's metrics from its log entry, and ends its span with what the entry says. */
  finishRequest(trace: RequestTrace | undefined, entry: RequestLogEntry, attempts: readonly AttemptSummary[], secrets: readonly (string | undefined)[]): void;
  /** Opens an attempt span under the active request span (or the app's span, for `req.llm` calls). */
  startAttempt(info: AttemptSpanInfo): AttemptSpan | undefined;
  /** The instruments, when a meter provider is registered. */
  metrics(): SwitchyardMetrics | undefined;
  close(): void;
}

/** Telemetry that records nothing: OpenTelemetry absent or turned off. */
export const NO_TELEMETRY: Telemetry = {
  enabled: false,
  captureContent: false,
  startRequest: () => undefined,
  finishRequest: () => undefined,
  startAttempt: () => undefined,
  metrics: () => undefined,
  close: () => undefined,
};

/** A small reusable entry for every kind of attempt (retries, candidates, failover, and resume and hedge later). */
export function startAttemptSpan(telemetry: Telemetry | undefined, info: AttemptSpanInfo): AttemptSpan | undefined {
  return telemetry?.enabled ? telemetry.startAttempt(info) : undefined;
}

interface OpenRequest extends RequestTrace {
  span: Span;
  context: Context;
  /** The attempt whose answer is being relayed: ended with the request. */
  served: Span | undefined;
}

function mask(value: string, secret: string | undefined): string {
  return redactSecrets(value, secret === undefined ? [] : [secret]);
}

export interface TelemetryOptions {
  settings: TelemetrySettings;
  /** What the gauges read; the cluster also goes on every request. */
  sources: MetricSources;
}

/** Creates the telemetry of one Switchyard: a no-op unless enabled and `@opentelemetry/api` is found. */
export function createTelemetry({ settings, sources }: TelemetryOptions): Telemetry {
  if (!settings.enabled) return NO_TELEMETRY;
  const api = (settings.api as OpenTelemetryApi | undefined) ?? loadOpenTelemetryApi();
  if (!api) return NO_TELEMETRY;
  const { SpanKind, SpanStatusCode } = api;
  const REQUEST = api.createContextKey('switchyard.request');
  const explicitTracers = settings.tracerProvider as TracerProvider | undefined;
  const explicitMeters = settings.meterProvider as MeterProvider | undefined;
  // This copy's "nothing registered" provider: while it is the global one, no span is even started.
  const unregistered = new api.ProxyTracerProvider().getDelegate();
  const noopMeter = api.createNoopMeter();
  let tracerProvider: TracerProvider | undefined;
  let tracer: Tracer | undefined;
  let meterProvider: MeterProvider | undefined;
  let meter: Meter | undefined;
  let instruments: SwitchyardMetrics | undefined;
  let closed = false;

  function currentTracer(): Tracer | undefined {
    const provider = explicitTracers ?? api!.trace.getTracerProvider();
    if (provider !== tracerProvider) {
      tracerProvider = provider;
      const registered = provider instanceof api!.ProxyTracerProvider ? provider.getDelegate() !== unregistered : true;
      tracer = registered ? provider.getTracer(INSTRUMENTATION_SCOPE) : undefined;
    } else if (tracer === undefined && provider instanceof api!.ProxyTracerProvider && provider.getDelegate() !== unregistered) {
      // The same global proxy got its SDK after we last looked.
      tracer = provider.getTracer(INSTRUMENTATION_SCOPE);
    }
    return tracer;
  }

  function currentMetrics(): SwitchyardMetrics | undefined {
    if (closed) return undefined;
    const provider = explicitMeters ?? api!.metrics.getMeterProvider();
    if (provider === meterProvider) return instruments;
    meterProvider = provider;
    instruments?.close();
    meter = provider.getMeter(INSTRUMENTATION_SCOPE);
    instruments = meter === noopMeter ? undefined : createSwitchyardMetrics(meter, sources);
    return instruments;
  }
  // Gauges are observable from the start when an SDK is already registered.
  currentMetrics();

  function endRequest(open: OpenRequest, entry: RequestLogEntry, attempts: readonly AttemptSummary[], served: AttemptSummary | undefined, secrets: readonly (string | undefined)[]) {
    const { span } = open;
    const redact = (value: string) => redactSecrets(value, secrets);
    const requested = attempts[0]?.model ?? entry.model;
    if (requested !== undefined) {
      const model = redact(requested);
      span.setAttribute(ATTR.requestModel, model);
      span.updateName(`${open.operation} ${model}`);
    }
    const provider = served?.provider ?? entry.provider;
    if (provider !== undefined) span.setAttribute(ATTR.provider, providerName(provider));
    if (served) span.setAttribute(ATTR.responseModel, redact(served.model));
    if (entry.inputTokens !== undefined) span.setAttribute(ATTR.inputTokens, entry.inputTokens);
    if (entry.outputTokens !== undefined) span.setAttribute(ATTR.outputTokens, entry.outputTokens);
    if (typeof entry.cost === 'number') span.setAttribute(ATTR.cost, entry.cost);
    span.setAttribute(ATTR.attempts, attempts.length);
    if (entry.fallbackReason !== undefined) span.setAttribute(ATTR.fallbackReason, redact(entry.fallbackReason));
    if (entry.status) span.setAttribute(ATTR.httpStatus, entry.status);
    if (entry.clientAborted) span.setAttribute(ATTR.clientAborted, true);
    const code = entry.code ?? entry.streamError;
    if (code !== undefined) {
      span.setAttribute(ATTR.errorType, code);
      if (!entry.clientAborted) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    }
    if (settings.captureContent) {
      const input = inputMessages(open.input);
      if (input) span.setAttribute(ATTR.inputMessages, redact(contentJson(input)));
      const output = open.output && outputMessages(open.output.text());
      if (output) span.setAttribute(ATTR.outputMessages, redact(contentJson(output)));
    }
    const attempt = open.served;
    if (attempt) {
      if (entry.inputTokens !== undefined) attempt.setAttribute(ATTR.inputTokens, entry.inputTokens);
      if (entry.outputTokens !== undefined) attempt.setAttribute(ATTR.outputTokens, entry.outputTokens);
      // The answer broke after the commit: the attempt that fed it failed too.
      if (entry.streamError !== undefined) {
        attempt.setAttribute(ATTR.errorType, entry.streamError);
        attempt.setStatus({ code: SpanStatusCode.ERROR, message: entry.streamError });
      }
      attempt.end();
    }
    span.end();
  }

  return {
    enabled: true,
    captureContent: settings.captureContent,

    startRequest(endpoint, cluster) {
      const operation = endpoint === undefined ? undefined : OPERATIONS[endpoint];
      if (operation === undefined) return undefined;
      const active = currentTracer();
      if (!active) return undefined;
      const parent = api.context.active();
      const span = active.startSpan(operation, { kind: SpanKind.INTERNAL, attributes: { [ATTR.operation]: operation, [ATTR.endpoint]: endpoint, [ATTR.cluster]: cluster } }, parent);
      // Sampled out: nothing to fill in, nothing to end.
      if (!span.isRecording()) return undefined;
      const open: OpenRequest = {
        operation: operation,
        span,
        context: parent,
        served: undefined,
        input: undefined,
        output: settings.captureContent ? createOutputCapture() : undefined,
        within: (fn) => api.context.with(open.context, fn),
      };
      open.context = api.trace.setSpan(parent, span).setValue(REQUEST, open);
      return open;
    },

    finishRequest(trace, entry, attempts, secrets) {
      let served: AttemptSummary | undefined;
      for (let i = attempts.length - 1; i >= 0; i--) {
        if (attempts[i]?.status === 'ok') {
          served = attempts[i];
          break;
        }
      }
      const metrics = currentMetrics();
      if (metrics) metrics.request(entry, served, entry.endpoint === undefined ? undefined : OPERATIONS[entry.endpoint]);
      if (trace) endRequest(trace as OpenRequest, entry, attempts, served, secrets);
    },

    startAttempt(info) {
      const active = currentTracer();
      if (!active) return undefined;
      const parent = api.context.active();
      const request = parent.getValue(REQUEST) as OpenRequest | undefined;
      const operation = request?.operation ?? 'chat';
      const model = mask(info.model, info.secret);
      const attributes: Record<string, string | number> = {
        [ATTR.operation]: operation,
        [ATTR.provider]: providerName(info.provider),
        [ATTR.requestModel]: model,
        [ATTR.attemptNumber]: info.number,
        [ATTR.attemptKind]: info.kind,
      };
      const server = serverOf(info.baseUrl);
      if (server) {
        attributes[ATTR.serverAddress] = mask(server.address, info.secret);
        attributes[ATTR.serverPort] = server.port;
      }
      const span = active.startSpan(`${operation} ${model}`, { kind: SpanKind.CLIENT, attributes }, parent);
      if (!span.isRecording()) return undefined;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        span.end();
      };
      return {
        within: (fn) => api.context.with(api.trace.setSpan(parent, span), fn),
        succeed() {
          span.setAttribute(ATTR.responseModel, model);
          if (!request) return end();
          // One attempt feeds the answer; a previous one (broken and resumed elsewhere) ends here.
          request.served?.end();
          request.served = span;
        },
        fail(code) {
          span.setAttribute(ATTR.errorType, code);
          span.setStatus({ code: SpanStatusCode.ERROR, message: code });
          end();
        },
        abandon() {
          span.setAttribute(ATTR.attemptOutcome, 'superseded');
          end();
        },
        broke(code) {
          // An attempt that feeds the answer is ended with the request; one that broke ends now.
          if (ended) return;
          if (request?.served === span) request.served = undefined;
          span.setAttribute(ATTR.errorType, code);
          span.setStatus({ code: SpanStatusCode.ERROR, message: code });
          end();
        },
      };
    },

    metrics: currentMetrics,

    close() {
      closed = true;
      instruments?.close();
      instruments = undefined;
    },
  };
}

