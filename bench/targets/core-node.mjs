/** Subject: the core's own handler (`createSwitchyard(...).handleNode`) on a plain `node:http` server. */
import { createSwitchyard, optionsFromEnv } from '@switchyard/core';
import { switchyardEnv } from '../lib/reference.mjs';

/** The core on node:http, configured from the bench's env plus `extraEnv` (Redis, quotas: see the state targets). */
export async function createCoreTarget({ upstreamUrl }, extraEnv = {}) {
  const switchyard = createSwitchyard(optionsFromEnv({ ...switchyardEnv(upstreamUrl), ...extraEnv }));
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
