/** Subject: the core on node:http with shared state or quotas from extra env (bench/lib/state.mjs says which). */
import { createCoreTarget } from './core-node.mjs';

export function createTarget(options) {
  return createCoreTarget(options, JSON.parse(process.argv[4] ?? '{}'));
}
