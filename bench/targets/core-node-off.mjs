/** Subject: the core on `node:http` as `core-node`, with telemetry turned off (`telemetry: false`: the API is never loaded). */
import { createCoreTarget } from './core-node.mjs';

export function createTarget(options) {
  return createCoreTarget(options, {}, { telemetry: false });
}
