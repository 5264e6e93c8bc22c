import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chat, readUntil, send, sseData, start } from '../test/http.js';
import { behaviors } from './behavior.js';
import { readFixture } from './fixtures.js';
import { startTestUpstream, type TestUpstream } from './test-upstream.js';

let upstream: TestUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startTestUpstream();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: upstream.url, maxRetries: 0 });
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

type Chunk = { choices: { delta: Record<string, unknown>; finish_reason: string | null }[]; usage?: unknown };

function chunksOf(text: string): { chunks: Chunk[]; done: boolean } {
  const data = sseData(text);
  const done = data.at(-1) === '[DONE]';
  return { chunks: (done ? data.slice(0, -1) : data).map((frame) => JSON.parse(frame) as Chunk), done };
}

const completionsUrl = (): string => `${upstream.url}/chat/completions`;

describe('stream', () => {
  it('sends reasoning deltas, then content, usage on the finish chunk, and no [DONE] when told', async () => {
    upstream.enqueue(behaviors.stream(['Hel', 'lo'], { reasoning: ['think', 'ing'], usageOnFinishChunk: true, done: false, finishReason: 'length' }));
    const response = await send(completionsUrl(), { body: chat('a b', { stream: true }) });
    const { chunks, done } = chunksOf(response.text);
    expect(done).toBe(false);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([
      { role: 'assistant', content: '' },
      { content: null, reasoning_content: 'think' },
      { content: null, reasoning_content: 'ing' },
      { content: 'Hel' },
      { content: 'lo' },
      {},
    ]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length');
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 2, completion_tokens: 2, total_tokens: 4, completion_tokens_details: { reasoning_tokens: 1 } });
  });

  it('sends no usage when usage is false, and overrides the counts when given', async () => {
    upstream.enqueue(behaviors.stream(['x'], { usage: false }), behaviors.stream(['x'], { usage: { prompt_tokens: 100, total_tokens: 101 } }));
    const without = chunksOf((await send(completionsUrl(), { body: chat('q', { stream: true }) })).text);
    expect(without.done).toBe(true);
    expect(without.chunks.some((chunk) => 'usage' in chunk)).toBe(false);
    const overridden = chunksOf((await send(completionsUrl(), { body: chat('q', { stream: true }) })).text);
    expect(overridden.chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 100, completion_tokens: 1, total_tokens: 101 } });
  });

  it('joins the chunks into one completion when the request did not stream', async () => {
    upstream.enqueue(behaviors.stream(['Hel', 'lo'], { reasoning: ['hm'] }));
    const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }] });
    expect(completion.choices[0]?.message).toMatchObject({ content: 'Hello', reasoning_content: 'hm' });
  });

  it('pauses between frames and stops writing when the client leaves', async () => {
    upstream.enqueue(behaviors.stream(['a', 'b', 'c'], { delayMs: 60_000 }));
    // The SDK's pooled keep-alive sockets stay open; count only this request's connection.
    const idle = upstream.openConnections;
    const pending = start(completionsUrl(), { body: chat('q', { stream: true }) });
    const response = await pending.response;
    const text = await readUntil(response, (sofar) => sofar.includes('"role"'));
    expect(sseData(text)).toHaveLength(1);
    pending.abort();
    await upstream.waitForOpenConnections(idle);
    expect(upstream.lastRequest()?.aborted).toBe(true);
  });

  it('refuses to answer embeddings with a chat script, naming the testkit', async () => {
    upstream.enqueue(behaviors.stream(['x']));
    const response = await send(`${upstream.url}/embeddings`, { body: { model: 'e', input: 'x' } });
    expect(response.status).toBe(500);
    expect(JSON.parse(response.text).error).toMatchObject({ type: 'testkit_error', message: "testkit: the 'stream' behavior answers chat/completions, messages and responses, not embeddings" });
  });
});

describe('completion', () => {
  it('answers with the given content, reasoning, finish reason and usage', async () => {
    upstream.enqueue(behaviors.completion('The answer is 42.', { reasoning: 'six times seven', finishReason: 'length', usage: { prompt_tokens: 7 } }));
    const completion = await client.chat.completions.create({ model: 'deepseek-v4-pro', messages: [{ role: 'user', content: 'q' }] });
    expect(completion.model).toBe('deepseek-v4-pro');
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.choices[0]?.message).toMatchObject({ content: 'The answer is 42.', reasoning_content: 'six times seven' });
    expect(completion.usage).toEqual({ prompt_tokens: 7, completion_tokens: 7, total_tokens: 8, completion_tokens_details: { reasoning_tokens: 3 } });
  });

  it('streams in word chunks when the request asked to stream', async () => {
    upstream.enqueue(behaviors.completion('one two three'));
    const { chunks, done } = chunksOf((await send(completionsUrl(), { body: chat('q', { stream: true }) })).text);
    expect(done).toBe(true);
    expect(chunks.slice(1, 4).map((chunk) => chunk.choices[0]?.delta.content)).toEqual(['one', ' two', ' three']);
  });
});

describe('stalls and cuts', () => {
  it('stallBeforeFirstByte reads the request and sends nothing until the client leaves', async () => {
    upstream.enqueue(behaviors.stallBeforeFirstByte());
    let headersArrived = false;
    // The SDK's pooled keep-alive sockets stay open; count only this request's connection.
    const idle = upstream.openConnections;
    const pending = start(completionsUrl(), { body: chat('q', { stream: true }) });
    pending.response.then(
      () => {
        headersArrived = true;
      },
      () => {},
    );
    const [request] = await upstream.waitForRequests(1);
    expect(request?.json).toEqual(chat('q', { stream: true }));
    pending.abort();
    await upstream.waitForOpenConnections(idle);
    expect(headersArrived).toBe(false);
    expect(request?.aborted).toBe(true);
  });

  it('stallMidStream sends headers, the role chunk and N content chunks, then nothing', async () => {
    const local = await startTestUpstream();
    local.enqueue(behaviors.stallMidStream(2));
    const pending = start(`${local.url}/chat/completions`, { body: chat('alpha beta gamma', { stream: true }) });
    const response = await pending.response;
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const text = await readUntil(response, (sofar) => sseData(sofar).length === 3);
    expect(sseData(text).map((frame) => (JSON.parse(frame) as Chunk).choices[0]?.delta)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'echo:' },
      { content: ' alpha' },
    ]);
    // Whatever arrives before the upstream goes away proves what was sent after the N chunks: nothing.
    let rest = '';
    response.on('data', (chunk: Buffer) => {
      rest += chunk.toString('utf8');
    });
    response.resume();
    const ended = new Promise<boolean>((resolve) => {
      response.once('end', () => resolve(true));
      response.once('close', () => resolve(false));
    });
    await local.close();
    expect(await ended).toBe(false);
    expect(rest).toBe('');
  });

  it('stallMidStream sends custom chunks, numbering any beyond them', async () => {
    upstream.enqueue(behaviors.stallMidStream(3, ['only']));
    // The SDK's pooled keep-alive sockets stay open; count only this request's connection.
    const idle = upstream.openConnections;
    const pending = start(completionsUrl(), { body: chat('q', { stream: true }) });
    const text = await readUntil(await pending.response, (sofar) => sseData(sofar).length === 4);
    expect(sseData(text).slice(1).map((frame) => (JSON.parse(frame) as Chunk).choices[0]?.delta.content)).toEqual(['only', ' 2', ' 3']);
    pending.abort();
    await upstream.waitForOpenConnections(idle);
    expect(upstream.lastRequest()?.aborted).toBe(true);
  });

  it('cutMidStream sends N content chunks, then drops the connection', async () => {
    upstream.enqueue(behaviors.cutMidStream(1));
    const response = await send(completionsUrl(), { body: chat('alpha beta', { stream: true }) });
    expect(response.status).toBe(200);
    expect(response.complete).toBe(false);
    const { chunks, done } = chunksOf(response.text);
    expect(done).toBe(false);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'echo:' }]);
    expect(response.text).toMatch(/\n\n$/);
    expect(upstream.lastRequest()?.aborted).toBe(false);
  });

  it('cutMidStream breaks an openai SDK stream with an error, not a clean end', async () => {
    upstream.enqueue(behaviors.cutMidStream(2));
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'a b c' }], stream: true });
    const deltas: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow();
    expect(deltas.join('')).toBe('echo: a');
  });

  it('cuts a non-streamed answer after half of the promised bytes', async () => {
    upstream.enqueue(behaviors.cutMidStream(0));
    const response = await send(completionsUrl(), { body: chat('q') });
    expect(response.status).toBe(200);
    expect(response.complete).toBe(false);
    const promised = Number(response.headers['content-length']);
    expect(response.body.length).toBe(Math.floor(promised / 2));
    expect(response.text.startsWith('{"id":"chatcmpl-testkit-')).toBe(true);
  });
});

describe('error answers', () => {
  it('garbage is an nginx 502 HTML page', async () => {
    upstream.enqueue(behaviors.garbage());
    const response = await send(completionsUrl(), { body: chat('q') });
    expect(response.status).toBe(502);
    expect(response.headers['content-type']).toBe('text/html');
    expect(response.text).toBe(
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
    );
  });

  it('status sends any status, body and headers', async () => {
    upstream.enqueue(
      behaviors.status(503, { error: { message: 'overloaded' } }, { 'Retry-After': '3' }),
      behaviors.status(500, 'upstream exploded'),
      behaviors.status(204),
      behaviors.status(400, '{"a":1}', { 'content-type': 'application/json' }),
    );
    const json = await send(completionsUrl(), { body: chat('q') });
    expect([json.status, json.headers['content-type'], json.headers['retry-after'], json.text]).toEqual([
      503,
      'application/json',
      '3',
      '{"error":{"message":"overloaded"}}',
    ]);
    const text = await send(completionsUrl(), { body: chat('q') });
    expect([text.status, text.headers['content-type'], text.text]).toEqual([500, 'text/plain; charset=utf-8', 'upstream exploded']);
    const empty = await send(completionsUrl(), { body: chat('q') });
    expect([empty.status, empty.text]).toEqual([204, '']);
    const overridden = await send(completionsUrl(), { body: chat('q') });
    expect([overridden.status, overridden.headers['content-type'], overridden.text]).toEqual([400, 'application/json', '{"a":1}']);
  });

  it("rateLimit is OpenAI's 429 with Retry-After, retry-after-ms and a request id", async () => {
    upstream.enqueue(behaviors.rateLimit({ retryAfterSeconds: 2, retryAfterMs: 1500 }));
    const response = await send(completionsUrl(), { body: chat('q') });
    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('2');
    expect(response.headers['retry-after-ms']).toBe('1500');
    expect(response.headers['x-request-id']).toBe(upstream.lastRequest()?.id);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const { error } = JSON.parse(response.text);
    expect(error).toMatchObject({ type: 'requests', param: null, code: 'rate_limit_exceeded' });
    expect(error.message).toMatch(/^Rate limit reached for gpt-5-mini .* Please try again in 1500ms\./);
  });

  it('rateLimit reaches the openai SDK as a RateLimitError', async () => {
    upstream.enqueue(behaviors.rateLimit());
    const failure = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.RateLimitError);
    expect((failure as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');
    expect((failure as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBeNull();
  });

  it('regionBlock is the recorded 403, byte for byte', async () => {
    upstream.enqueue(behaviors.regionBlock());
    const response = await send(completionsUrl(), { body: chat('q') });
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.text).toBe(readFixture('openai-unsupported_country_region_territory'));
    expect(JSON.parse(response.text).error.code).toBe('unsupported_country_region_territory');
  });
});
