/**
 * The CommonJS Express example, run as users run it: `node apps/demo/examples/express-cjs.cjs`, loading the built
 * CommonJS files of @switchyard/core and @switchyard/express through `require`. `npm test` builds them first; this
 * test builds nothing and skips when they are missing.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { examplePath, missingBuilds, startExample, stopExample } from './example-process.js';

const EXAMPLE = examplePath('express-cjs.cjs');
const missing = missingBuilds(['core', 'express'], 'cjs');
if (missing.length > 0) console.warn(`examples: skipped, no CommonJS build at ${missing.join(', ')} (run \`npm run build\`, or \`npm test\`, which builds first)`);

describe.skipIf(missing.length > 0)('examples/express-cjs.cjs', () => {
  let upstream: TestUpstream;
  let example: { child: ChildProcess; url: string };
  let operatorKey: string;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    operatorKey = `sk-test-${randomUUID()}`;
    // SPEC §8: an operator key and relay for openai, read by optionsFromEnv in the example.
    example = await startExample(EXAMPLE, { PORT: '0', HOST: '127.0.0.1', OPENAI_API_KEY: operatorKey, OPENAI_BASE_URL: upstream.url });
  });

  afterAll(async () => {
    if (example) await stopExample(example.child);
    await upstream?.close();
  });

  it('answers its own req.llm route with the operator key from the environment', async () => {
    const response = await fetch(`${example.url}/summarize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'the text' }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ summary: 'echo: Summarize: the text', servedBy: 'openai/gpt-5' });
    expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${operatorKey}`);
  });

  it('serves /api/chat as a stream', async () => {
    const response = await fetch(`${example.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"question":"hi","agent":"App","provider":"general"}' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5');
    const events = (await response.text())
      .split('\n\n')
      .filter(Boolean)
      .map((frame) => JSON.parse(frame.slice('data: '.length)) as { type: string; content?: string });
    expect(events.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe('echo: hi');
    expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
  });

  it('serves the WebSocket chat from the CommonJS build', async () => {
    const ws = new WebSocket(`${example.url.replace('http', 'ws')}/api/chat`);
    const events: Array<{ type: string; content?: unknown }> = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ question: 'over cjs' })));
      ws.on('message', (data) => {
        const event = JSON.parse(data.toString()) as { type: string; content?: unknown };
        events.push(event);
        if (event.type === 'end') resolve();
      });
      ws.once('error', reject);
    });
    ws.close();
    expect(events.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe('echo: over cjs');
    expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
    expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${operatorKey}`);
  });

  it('answers an LLM error with its status through Express 5 error handling', async () => {
    const response = await fetch(`${example.url}/summarize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-provider': 'nope' },
      body: JSON.stringify({ text: 'x' }),
    });
    expect(response.status).toBe(400);
  });
});
