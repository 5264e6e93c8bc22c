import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { behaviors, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { chatEvents, dataFrames, post, providers, serve, type Served, testKey } from './harness.js';

let upstream: TestUpstream;
let served: Served;

beforeAll(async () => {
  upstream = await startTestUpstream();
  served = await serve({
    providers: { openai: { baseUrl: upstream.url, apiKey: testKey('operator') } },
    // A stall is an idle gap longer than this; retries must not hide a failure after the commit.
    timeouts: { idleMs: 300 },
    retries: { max: 2, baseDelayMs: 1 },
    breaker: { failureThreshold: 100, cooldownMs: 1_000 },
  });
});

afterAll(async () => {
  await served.close();
  await upstream.close();
});

beforeEach(() => {
  upstream.reset();
});

const HEADERS = { 'x-llm-provider': 'openai' };

async function failures(): Promise<number> {
  return (await providers(served.base)).openai?.breaker.consecutiveFailures ?? -1;
}

describe('a failure after the commit (SPEC §5): never a clean end, never retried', () => {
  it.for([
    { name: 'a cut', behavior: behaviors.cutMidStream(2, ['echo', ': one', ': two']), code: 'upstream_error' },
    { name: 'a stall', behavior: behaviors.stallMidStream(2, ['echo', ': one', ': two']), code: 'upstream_timeout' },
  ])('/api/chat: $name mid-stream is an error event, then end', async ({ behavior, code }) => {
    upstream.enqueue(behavior);
    const before = await failures();
    const answer = await post(`${served.base}/api/chat`, { question: 'count' }, HEADERS);
    expect(answer.status).toBe(200);
    const events = chatEvents(answer.text);
    expect(events.map((event) => event.type)).toEqual(['id', 'route', 'reply', 'reply', 'error', 'end']);
    expect(events.filter((event) => event.type === 'reply').map((event) => event.content)).toEqual(['echo', ': one']);
    expect(events[4]).toMatchObject({ type: 'error', code });
    expect(events[5]).toEqual({ type: 'end', content: '', finish_reason: 'error' });
    expect(upstream.requests).toHaveLength(1);
    // A truncated stream counts against the provider.
    expect(await failures()).toBe(before + 1);
  });

  it.for([
    { name: 'a cut', behavior: behaviors.cutMidStream(2, ['echo', ': one', ': two']), code: 'upstream_error' },
    { name: 'a stall', behavior: behaviors.stallMidStream(2, ['echo', ': one', ': two']), code: 'upstream_timeout' },
  ])('/v1/chat/completions: $name mid-stream is an error frame without [DONE]', async ({ behavior, code }) => {
    upstream.enqueue(behavior);
    const before = await failures();
    const answer = await post(`${served.base}/v1/chat/completions`, { model: 'general', stream: true, messages: [{ role: 'user', content: 'count' }] }, HEADERS);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-llm-served-by')).toBe('openai/gpt-5');
    const frames = dataFrames(answer.text);
    expect(frames).not.toContain('[DONE]');
    const content = frames
      .slice(0, -1)
      .map((frame) => (JSON.parse(frame) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
    expect(content).toBe('echo: one');
    expect(JSON.parse(frames.at(-1) as string)).toMatchObject({ error: { code } });
    expect(upstream.requests).toHaveLength(1);
    expect(await failures()).toBe(before + 1);
  });

  it('a whole stream resets the run of failures', async () => {
    const answer = await post(`${served.base}/api/chat`, { question: 'fine' }, HEADERS);
    expect(chatEvents(answer.text).at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
    expect(await failures()).toBe(0);
  });
});

describe('truncated streams and the breaker', () => {
  it('a provider that always cuts its streams opens its circuit', async () => {
    const own = await serve({
      providers: { openai: { baseUrl: upstream.url, apiKey: testKey('operator') } },
      breaker: { failureThreshold: 2, cooldownMs: 60_000 },
    });
    try {
      upstream.setDefault(behaviors.cutMidStream(1));
      for (let i = 0; i < 2; i++) {
        const answer = await post(`${own.base}/api/chat`, { question: 'again' }, HEADERS);
        expect(chatEvents(answer.text).at(-2)).toMatchObject({ type: 'error', code: 'upstream_error' });
      }
      expect((await providers(own.base)).openai?.breaker).toMatchObject({ state: 'open', consecutiveFailures: 2 });
      const fast = await post(`${own.base}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: 'x' }] }, HEADERS);
      expect(fast.status).toBe(503);
      expect(upstream.requests).toHaveLength(2);
    } finally {
      await own.close();
    }
  });
});

describe('a stream the upstream ends cleanly before it finished', () => {
  const unfinished = 'data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-5","choices":[{"index":0,"delta":{"content":"half"},"finish_reason":null}]}\n\n';

  it('/v1/chat/completions passthrough: our error frame follows the bytes, never a clean end', async () => {
    upstream.enqueue({ type: 'status', status: 200, headers: { 'content-type': 'text/event-stream' }, body: unfinished });
    const answer = await post(`${served.base}/v1/chat/completions`, { model: 'general', stream: true, messages: [{ role: 'user', content: 'x' }] }, HEADERS);
    const frames = dataFrames(answer.text);
    expect(JSON.parse(frames[0] as string).choices[0].delta.content).toBe('half');
    expect(JSON.parse(frames.at(-1) as string)).toMatchObject({ error: { code: 'upstream_error', message: 'the stream ended before it finished' } });
    expect(frames).not.toContain('[DONE]');
  });

  it('/v1/messages translated: an error event, never message_stop', async () => {
    upstream.enqueue({ type: 'status', status: 200, headers: { 'content-type': 'text/event-stream' }, body: unfinished });
    const answer = await post(`${served.base}/v1/messages`, { model: 'general', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'x' }] }, HEADERS);
    expect(answer.text).toContain('"text":"half"');
    expect(answer.text.trimEnd().split('\n\n').at(-1)).toMatch(/^event: error\n/);
    expect(answer.text).not.toContain('message_stop');
  });
});
