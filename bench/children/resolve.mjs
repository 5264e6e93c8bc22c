/**
 * The cost of resolving a route: `createSwitchyard(...).resolve(view)` in a tight loop, ns per call, for the shapes
 * a request takes (tier in the body, provider header with an alias, `provider/model`). `node resolve.mjs <iterations>`.
 */
import { randomUUID } from 'node:crypto';
import { createSwitchyard, optionsFromEnv } from '@switchyard/core';
import { serveParent } from '../lib/ipc.mjs';
import { switchyardEnv } from '../lib/reference.mjs';

const iterations = Number(process.argv[2] ?? 200_000);
const samples = 5;
const switchyard = createSwitchyard(optionsFromEnv(switchyardEnv('http://127.0.0.1:9/v1')));
const key = `sk-bench-${randomUUID()}`;
// Headers as Node hands them to a server: lower-case, with the usual neighbours.
const common = {
  host: '127.0.0.1:3000',
  'user-agent': 'OpenAI/JS 6.0.0',
  accept: 'application/json',
  'content-type': 'application/json',
  'content-length': '97',
  connection: 'keep-alive',
};
const views = [
  { id: 'tier-in-body', view: { headers: { ...common, 'x-llm-api-key': key }, requested: 'general' } },
  { id: 'provider-header-alias', view: { headers: { ...common, 'x-llm-provider': 'DashScope', 'x-llm-api-key': key }, requested: 'DeepSeekFlash' } },
  { id: 'provider-slash-model', view: { headers: { ...common, 'x-llm-api-key': key }, requested: 'openai/gpt-5-mini' } },
  { id: 'operator-key-default', view: { headers: common } },
];

function run(view, count) {
  let sink = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) sink += switchyard.resolve(view, { defaultTier: 'general' }).candidates.length;
  const elapsed = Number(process.hrtime.bigint() - started);
  if (sink === 0) throw new Error('resolve returned no candidates');
  return elapsed / count;
}

const results = [];
for (const { id, view } of views) {
  run(view, Math.max(10_000, iterations / 4)); // warm-up: let the JIT settle
  const perSample = [];
  for (let s = 0; s < samples; s++) perSample.push(run(view, iterations));
  perSample.sort((a, b) => a - b);
  results.push({ id, nsPerOp: perSample[Math.floor(samples / 2)], min: perSample[0], max: perSample[samples - 1], iterations, samples });
}
await switchyard.close();
serveParent({ results }, {});
