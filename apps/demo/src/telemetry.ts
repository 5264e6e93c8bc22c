/**
 * The demo's OpenTelemetry SDK: metrics always (Prometheus text at `GET /metrics`, pulled from the demo's own meter
 * provider), and OTLP export of traces and metrics when the standard `OTEL_*` variables ask for it (SPEC §8, §10).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics } from '@opentelemetry/api';
import { OTLPMetricExporter as OTLPMetricExporterJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { type MetricReader, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

type Env = Record<string, string | undefined>;

/** What the demo's telemetry is, once built from the environment. */
export interface DemoTelemetry {
  /** The meter provider Switchyard records on; undefined with `OTEL_SDK_DISABLED=true`. */
  readonly meterProvider: MeterProvider | undefined;
  /** A tracer provider when a trace exporter is configured; otherwise Switchyard uses whatever is registered. */
  readonly tracerProvider: NodeTracerProvider | undefined;
  /** Serves the Prometheus text exposition; undefined when the SDK is disabled. */
  readonly metricsHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** Where signals go, for the start-up banner: `["metrics: /metrics", "traces: otlp http/protobuf → …"]`. */
  readonly exports: readonly string[];
  /** Registers the providers (and the async context manager) globally, as a process's one SDK. */
  register(): void;
  shutdown(): Promise<void>;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter(Boolean);
}

/** The OTLP/HTTP endpoint of one signal as the OTLP exporter specification resolves it (signal-specific URL as is). */
export function otlpEndpoint(env: Env, signal: 'traces' | 'metrics'): string | undefined {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`]?.trim();
  if (specific) return specific;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/${signal}` : undefined;
}

/** `http/protobuf` (the specification's default) or `http/json`; gRPC is not built into the demo. */
function otlpProtocol(env: Env, signal: 'traces' | 'metrics'): string {
  return (env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_PROTOCOL`] ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim().toLowerCase();
}

/**
 * Which exporters a signal gets: `OTEL_{TRACES,METRICS}_EXPORTER` when set (`otlp`, `console`, `none`), otherwise
 * `otlp` when an OTLP endpoint is configured and nothing when not (no export to a collector that is not there).
 */
function exportersOf(env: Env, signal: 'traces' | 'metrics'): string[] {
  const named = list(env[`OTEL_${signal.toUpperCase()}_EXPORTER`]);
  if (named.length > 0) return named.includes('none') ? [] : named;
  return otlpEndpoint(env, signal) ? ['otlp'] : [];
}

function resourceOf(env: Env): Resource {
  const named = resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || 'switchyard-demo' });
  // OTEL_RESOURCE_ATTRIBUTES (and OTEL_SERVICE_NAME) win over the demo's defaults.
  return defaultResource().merge(named).merge(detectResources({ detectors: [envDetector] }));
}

function milliseconds(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
}

/** Builds the demo's SDK from the environment; nothing is registered globally until `register()`. */
export function createDemoTelemetry(env: Env, warn: (message: string) => void = () => {}): DemoTelemetry {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') {
    return { meterProvider: undefined, tracerProvider: undefined, metricsHandler: undefined, exports: ['OpenTelemetry SDK disabled (OTEL_SDK_DISABLED)'], register() {}, shutdown: async () => {} };
  }
  const resource = resourceOf(env);
  const exports: string[] = ['metrics: Prometheus text at /metrics'];

  // Pulled by GET /metrics on the demo's own ports; no server of the exporter's own.
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const readers: MetricReader[] = [prometheus];
  for (const exporter of exportersOf(env, 'metrics')) {
    if (exporter === 'prometheus') continue;
    if (exporter !== 'otlp') {
      warn(`OTEL_METRICS_EXPORTER=${exporter} is not built into the demo; metrics stay at /metrics`);
      continue;
    }
    const protocol = otlpProtocol(env, 'metrics');
    if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
      warn(`OTLP protocol ${protocol} is not built into the demo (http/protobuf or http/json); metrics are not pushed`);
      continue;
    }
    const url = otlpEndpoint(env, 'metrics') ?? 'http://localhost:4318/v1/metrics';
    const exporterOptions = { url };
    const interval = milliseconds(env.OTEL_METRIC_EXPORT_INTERVAL, 60_000);
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: protocol === 'http/json' ? new OTLPMetricExporterJson(exporterOptions) : new OTLPMetricExporterProto(exporterOptions),
        exportIntervalMillis: interval,
        // The SDK refuses a timeout longer than the interval.
        exportTimeoutMillis: Math.min(interval, milliseconds(env.OTEL_METRIC_EXPORT_TIMEOUT, 30_000)),
      }),
    );
    exports.push(`metrics: otlp ${protocol} → ${url}`);
  }
  const meterProvider = new MeterProvider({ resource, readers });

  const processors: SpanProcessor[] = [];
  for (const exporter of exportersOf(env, 'traces')) {
    let spanExporter: SpanExporter | undefined;
    if (exporter === 'console') {
      spanExporter = new ConsoleSpanExporter();
      exports.push('traces: console');
    } else if (exporter === 'otlp') {
      const protocol = otlpProtocol(env, 'traces');
      if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
        warn(`OTLP protocol ${protocol} is not built into the demo (http/protobuf or http/json); traces are not exported`);
        continue;
      }
      const url = otlpEndpoint(env, 'traces') ?? 'http://localhost:4318/v1/traces';
      spanExporter = protocol === 'http/json' ? new OTLPTraceExporterJson({ url }) : new OTLPTraceExporterProto({ url });
      exports.push(`traces: otlp ${protocol} → ${url}`);
    } else {
      warn(`OTEL_TRACES_EXPORTER=${exporter} is not built into the demo`);
    }
    // Batched, as in production: spans leave off the request path.
    if (spanExporter) processors.push(new BatchSpanProcessor(spanExporter));
  }
  const tracerProvider = processors.length > 0 ? new NodeTracerProvider({ resource, spanProcessors: processors }) : undefined;

  return {
    meterProvider,
    tracerProvider,
    metricsHandler: (req, res) => prometheus.getMetricsRequestHandler(req, res),
    exports,
    register() {
      // NodeTracerProvider.register() also installs the async-hooks context manager and the W3C propagators.
      tracerProvider?.register();
      metrics.setGlobalMeterProvider(meterProvider);
    },
    async shutdown() {
      await Promise.all([meterProvider.shutdown(), tracerProvider?.shutdown()]);
    },
  };
}
