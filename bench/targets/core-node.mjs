/**
 * Subject: the core's own handler (`createSwitchyard(...).handleNode`) on a plain `node:http` server. `@opentelemetry/api`
 * is installed and no SDK is registered: what an app that never set up OpenTelemetry gets.
 */
import { createSwitchyard, optionsFromEnv } from '@switchyard/core';
import { switchyardEnv } from '../lib/reference.mjs';

/** The core on node:http, configured from the bench's env plus `extraEnv` (Redis, quotas: see the state targets) and `options`. */
export async function createCoreTarget({ upstreamUrl }, extraEnv = {}, options = {}) {
  const switchyard = createSwitchyard({ ...optionsFromEnv({ ...switchyardEnv(upstreamUrl), ...extraEnv }), ...options });
  await switchyard.ready();
  function handler(req, res) {
    switchyard.handleNode(req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404).end();
      },
      () => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      },
    );
  }
  return { handler, close: () => switchyard.close() };
}

export function createTarget(options) {
  return createCoreTarget(options);
}
