/**
 * Subject: the core's own handler (`createSwitchyard(...).handleNode`) on a plain `node:http` server. `@opentelemetry/api`
 * is installed and no SDK is registered: what an app that never set up OpenTelemetry gets.
 */
import { createSwitchyard, optionsFromEnv } from '@switchyard/core';
import { switchyardEnv } from '../lib/reference.mjs';

export async function createTarget({ upstreamUrl, switchyard = createSwitchyard(optionsFromEnv(switchyardEnv(upstreamUrl))) }) {
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
