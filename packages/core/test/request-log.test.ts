import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { usageOfJsonBytes } from '../src/index.js';
import { post, serve, type Served } from './harness.js';

describe('the request log entry carries what request-level consumers need', () => {
  let upstream: TestUpstream;
  let served: Served;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    served = await serve({ providers: { openai: { baseUrl: upstream.url, apiKey: 'operator-key' } }, prices: { 'gpt-5': { input: 1, output: 2 } } });
  });
  afterAll(async () => {
    await served.close();
    await upstream.close();
  });
  beforeEach(() => {
    upstream.reset();
  });

  it('a streamed /v1 answer: endpoint, usage, cost, first byte', async () => {
    upstream.enqueue({ type: 'stream', chunks: ['a', 'b'], usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 } });
    const logged = served.nextLog();
    const answer = await post(`${served.base}/v1/chat/completions`, { model: 'general', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.status).toBe(200);
    const entry = await logged;
    expect(entry).toMatchObject({ endpoint: 'chatCompletions', provider: 'openai', model: 'gpt-5', inputTokens: 10, outputTokens: 4, attempts: 1 });
    expect(entry.cost).toBeCloseTo((10 * 1 + 4 * 2) / 1e6, 10);
    expect(entry.firstByteMs).toBeGreaterThan(0);
    expect(entry.firstByteMs).toBeLessThanOrEqual(entry.durationMs);
  });

  it('a whole /v1 answer passed on as bytes still yields its usage, cached tokens included', async () => {
    upstream.enqueue({ type: 'completion', content: 'hello', usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });
    const logged = served.nextLog();
    const answer = await post(`${served.base}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.json.choices[0].message.content).toBe('hello');
    expect(await logged).toMatchObject({ endpoint: 'chatCompletions', inputTokens: 7, outputTokens: 3 });
  });

  it('/api/chat records usage and cost', async () => {
    upstream.enqueue({ type: 'stream', chunks: ['x'], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } });
    const logged = served.nextLog();
    await post(`${served.base}/api/chat`, { question: 'hi' });
    expect(await logged).toMatchObject({ endpoint: 'chat', inputTokens: 5, outputTokens: 1, model: 'gpt-5' });
  });

  it('usageOfJsonBytes finds the last usage object, skipping strings that mention usage', () => {
    const body = Buffer.from(
      JSON.stringify({ choices: [{ message: { content: 'the "usage": {"prompt_tokens": 99} text' } }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, prompt_tokens_details: { cached_tokens: 2 } } }, null, 2),
    );
    expect(usageOfJsonBytes(body)).toEqual({ input_tokens: 3, output_tokens: 2, total_tokens: 5, cached_tokens: 2 });
    expect(usageOfJsonBytes(Buffer.from('{"id":"x"}'))).toBeUndefined();
    expect(usageOfJsonBytes(Buffer.from('{"usage": {"prompt_tokens": 1'))).toBeUndefined();
  });
});
