/** Subject: the core's own handler (`createSwitchyard(...).handleNode`) on a plain `node:http` server. */
import { createSwitchyard, optionsFromEnv } from '@switchyard/core';
import { switchyardEnv } from '../lib/reference.mjs';

export async function createTarget({ upstreamUrl }) {
  const switchyard = createSwitchyard(optionsFromEnv(switchyardEnv(upstreamUrl)));
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
