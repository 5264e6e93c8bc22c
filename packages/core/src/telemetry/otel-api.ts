import { createRequire } from 'node:module';
import type * as OpenTelemetryApiModule from '@opentelemetry/api';

/** The `@opentelemetry/api` module: an optional peer dependency, never bundled, never required to run. */
export type OpenTelemetryApi = typeof OpenTelemetryApiModule;

/**
 * Loads `@opentelemetry/api` synchronously from where this package is installed (both builds: `import.meta.url` is
 * shimmed in the CommonJS one), or returns undefined when it is not installed. Two copies of the API in one process
 * (the app's ESM one, this CommonJS one) share their registrations through the API's own global slot.
 */
export function loadOpenTelemetryApi(): OpenTelemetryApi | undefined {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as OpenTelemetryApi;
  } catch {
    // Not installed (or not resolvable from here, as in some bundles): telemetry stays off.
    return undefined;
  }
}
