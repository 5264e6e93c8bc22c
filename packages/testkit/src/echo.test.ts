import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chat, send, sseData } from '../test/http.js';
import { echoEmbedding, encodeEmbeddingBase64, splitIntoChunks } from './echo.js';
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

describe('splitIntoChunks', () => {
  it('splits on word boundaries and joins back exactly', () => {
    expect(splitIntoChunks('echo: the quick  brown\nfox ')).toEqual(['echo:', ' the', ' quick', '  brown', '\nfox ']);
  });

  it('halves the longest piece until there are three', () => {
    expect(splitIntoChunks('echo: hi')).toEqual(['ech', 'o:', ' hi']);
    expect(splitIntoChunks('echo: ')).toEqual(['ec', 'h', 'o: ']);
    expect(splitIntoChunks('你好世界').join('')).toBe('你好世界');
    expect(splitIntoChunks('你好世界')).toHaveLength(3);
  });

  it('stops when the text is too short to split', () => {
    expect(splitIntoChunks('ab')).toEqual(['a', 'b']);
    expect(splitIntoChunks('')).toEqual([]);
  });
});

describe('sandbox chat completions', () => {
  it('answers `echo: ` + the last user message, with usage, through the openai SDK', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-5-mini',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'an answer' },
        { role: 'user', content: 'hello there world' },
      ],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-5-mini');
    expect(completion.id).toMatch(/^chatcmpl-testkit-\d+$/);
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'echo: hello there world' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    // Words: 2 + 2 + 2 + 3 in the prompt; "echo: hello there world" is 4.
    expect(completion.usage).toEqual({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
    expect(upstream.lastRequest()?.headers.authorization).toBe('Bearer sk-test');
  });

  it('reads the text parts of array content', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
            { type: 'text', text: 'here' },
          ],
        },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe('echo: look\nhere');
  });

  it('streams a role chunk, word chunks, a finish chunk, a usage chunk and [DONE]', async () => {
    const response = await send(`${upstream.url}/chat/completions`, { body: chat('one two three four', { stream: true }) });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(response.headers['x-request-id']).toMatch(/^req_\d+$/);
    expect(response.text.endsWith('\n\ndata: [DONE]\n\n')).toBe(true);
    expect(response.text).toMatch(/^(data: [^\n]+\n\n)+$/);

    const data = sseData(response.text);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((frame) => JSON.parse(frame) as Record<string, any>);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ object: 'chat.completion.chunk', model: 'gpt-5-mini', id: chunks[0]?.id });
      expect(typeof chunk.created).toBe('number');
    }
    expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'echo:' },
      { content: ' one' },
      { content: ' two' },
      { content: ' three' },
      { content: ' four' },
      {},
      undefined,
    ]);
    expect(chunks[6]?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks[7]).toMatchObject({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 } });
  });

  it('streams through the openai SDK', async () => {
    const stream = await client.chat.completions.create({ model: 'deepseek-v4-flash', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const deltas: string[] = [];
    let usage: unknown;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) deltas.push(content);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas.join('')).toBe('echo: hi');
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(usage).toEqual({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
  });

  it("rejects a body OpenAI would reject, in OpenAI's envelope", async () => {
    const notJson = await send(`${upstream.url}/chat/completions`, { body: '{not json' });
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.text).error).toMatchObject({ type: 'invalid_request_error', code: null });
    expect(JSON.parse(notJson.text).error.message).toMatch(/^We could not parse the JSON body of your request/);
    const noMessages = await send(`${upstream.url}/chat/completions`, { body: { model: 'gpt-5', stream: true } });
    expect(noMessages.status).toBe(400);
    expect(JSON.parse(noMessages.text).error).toEqual({
      message: "Missing required parameter: 'messages'.",
      type: 'invalid_request_error',
      param: 'messages',
      code: 'missing_required_parameter',
    });
  });
});

describe('sandbox embeddings', () => {
  it('gives deterministic unit vectors of 8 float32 values', () => {
    const vector = echoEmbedding('hello');
    expect(vector).toHaveLength(8);
    expect(echoEmbedding('hello')).toEqual(vector);
    expect(echoEmbedding('hullo')).not.toEqual(vector);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 6);
    for (const value of vector) expect(Math.fround(value)).toBe(value);
  });

  it("serves the openai SDK's default base64 encoding", async () => {
    const result = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
    expect(upstream.lastRequest()?.json).toMatchObject({ encoding_format: 'base64' });
    expect(result.object).toBe('list');
    expect(result.model).toBe('text-embedding-3-small');
    expect(result.data.map((item) => item.index)).toEqual([0, 1]);
    expect(result.data[0]?.embedding).toEqual(echoEmbedding('alpha'));
    expect(result.data[1]?.embedding).toEqual(echoEmbedding('beta'));
    expect(result.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
  });

  it('sends floats or little-endian float32 base64 as asked', async () => {
    const floats = await send(`${upstream.url}/embeddings`, { body: { model: 'e', input: 'alpha', encoding_format: 'float' } });
    expect(JSON.parse(floats.text).data[0].embedding).toEqual(echoEmbedding('alpha'));
    const base64 = await send(`${upstream.url}/embeddings`, { body: { model: 'e', input: 'alpha', encoding_format: 'base64' } });
    const encoded = JSON.parse(base64.text).data[0].embedding as string;
    expect(encoded).toBe(encodeEmbeddingBase64(echoEmbedding('alpha')));
    const bytes = Buffer.from(encoded, 'base64');
    expect(bytes.length).toBe(32);
    expect(bytes.readFloatLE(4)).toBe(echoEmbedding('alpha')[1]);
  });

  it('rejects a missing input', async () => {
    const response = await send(`${upstream.url}/embeddings`, { body: { model: 'e' } });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text).error.message).toMatch(/'\$\.input' is invalid/);
  });
});

describe('sandbox models', () => {
  it('lists the default models, sandbox-echo included', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      expect(model).toMatchObject({ object: 'model', owned_by: 'testkit' });
      ids.push(model.id);
    }
    expect(ids).toContain('sandbox-echo');
  });

  it('lists the models it was started with', async () => {
    const local = await startTestUpstream({ models: ['a', 'b'] });
    try {
      const response = await send(`${local.url}/models`);
      expect(JSON.parse(response.text)).toEqual({
        object: 'list',
        data: [
          { id: 'a', object: 'model', created: 1_700_000_000, owned_by: 'testkit' },
          { id: 'b', object: 'model', created: 1_700_000_000, owned_by: 'testkit' },
        ],
      });
    } finally {
      await local.close();
    }
  });
});
