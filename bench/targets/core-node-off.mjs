/** Subject: the core on `node:http` as `core-node`, with telemetry turned off (`telemetry: false`: the API is never loaded). */
import { createSwitchyard, optionsFromEnv } from '@switchyard/core';
import { switchyardEnv } from '../lib/reference.mjs';
import { createTarget as createCoreTarget } from './core-node.mjs';

export function createTarget({ upstreamUrl }) {
  return createCoreTarget({ upstreamUrl, switchyard: createSwitchyard({ ...optionsFromEnv(switchyardEnv(upstreamUrl)), telemetry: false }) });
}
