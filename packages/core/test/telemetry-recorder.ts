/**
 * OpenTelemetry's own SDK, recording in memory: a tracer provider with an in-memory span exporter and a meter provider
 * whose reader collects on demand. Shared by the core's telemetry tests, the adapter suites and the security run.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type DataPoint, type MetricData, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** A reader that exports nothing by itself: `collect()` is called by the test. */
class CollectingReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface TelemetryRecorder {
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  /** Every span ended so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** Every metric collected now (cumulative). */
  metrics(): Promise<MetricData[]>;
  /** One metric by name, or undefined when nothing was recorded on it. */
  metric(name: string): Promise<MetricData | undefined>;
  /** Everything recorded, spans and metrics, as one text to search (for keys and content). */
  everything(): Promise<string>;
  shutdown(): Promise<void>;
}

/** A fresh recorder; pass its providers to Switchyard's `telemetry` option, or register them with `registerGlobally`. */
export function createTelemetryRecorder(): TelemetryRecorder {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const collect = async () => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
  };
  return {
    tracerProvider,
    meterProvider,
    spans: () => exporter.getFinishedSpans(),
    metrics: collect,
    metric: async (name) => (await collect()).find((metric) => metric.descriptor.name === name),
    async everything() {
      const spans = exporter.getFinishedSpans().map((span) => ({
        name: span.name,
        attributes: span.attributes,
        status: span.status,
        events: span.events,
        links: span.links,
      }));
      const recorded = (await collect()).map((metric) => ({
        descriptor: metric.descriptor,
        points: (metric.dataPoints as DataPoint<unknown>[]).map((point) => ({ attributes: point.attributes, value: point.value })),
      }));
      return JSON.stringify({ spans, metrics: recorded });
    },
    async shutdown() {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

/** Registers the async-hooks context manager globally (spans follow `await`), as every Node SDK setup does; returns its undo. */
export function useAsyncContext(): () => void {
  const manager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(manager)) throw new Error('a context manager is registered already');
  return () => context.disable();
}

/** Registers a recorder's providers as the global ones (what an app's SDK setup does); returns the undo. */
export function registerGlobally(recorder: TelemetryRecorder): () => void {
  if (!trace.setGlobalTracerProvider(recorder.tracerProvider) || !metrics.setGlobalMeterProvider(recorder.meterProvider)) {
    throw new Error('a tracer or meter provider is registered already');
  }
  return () => {
    trace.disable();
    metrics.disable();
  };
}

/** The points of one metric whose attributes include `match`. */
export function pointsOf(metric: MetricData | undefined, match: Record<string, unknown> = {}): DataPoint<any>[] {
  if (!metric) return [];
  return (metric.dataPoints as DataPoint<any>[]).filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value));
}
