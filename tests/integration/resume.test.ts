/**
 * Resume (SPEC §5): a stream that is cut or stalls at 30% of a long answer comes out whole on every endpoint, passed
 * through or translated, through both adapters; the client's text equals the unbroken answer, the continuation is
 * recorded (the last frame's `x_switchyard.resumed`, a `route` event on /api/chat), and what the upstream was asked is
 * the conversation plus the text already sent. Without the opt-in the break is today's explicit error.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SwitchyardOptions } from '@switchyard/core';
import { behaviors, splitIntoChunks, type Behavior, type RecordedRequest, type TestUpstream } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, post, readEvents, readFrames, responsesEvents, startHarness } from './harness.js';
import { ChatSocket, replyText } from './ws-client.js';

/** The unbroken answer: long enough that 30% of it is a real start. */
const LONG = Array.from(
  { length: 12 },
  (_, i) => `Paragraph ${i + 1} says that rivers carry silt to the sea, where it settles into deltas over many quiet years.`,
).join(' ');
const CHUNKS = splitIntoChunks(LONG);
const AT = Math.round(CHUNKS.length * 0.3);
const SENT = CHUNKS.slice(0, AT).join('');
const INSTRUCTION_START = 'Your previous answer was cut off.';

const options = (upstream: TestUpstream): SwitchyardOptions => ({
  providers: {
    openai: { baseUrl: upstream.url },
    // A provider that speaks Anthropic Messages, with models that take a prefill.
    anthropic: { baseUrl: upstream.url, tiers: { general: ['claude-sonnet-4-5', 'claude-haiku-4-5'] } },
  },
  timeouts: { connectMs: 2000, firstByteMs: 2000, idleMs: 400, totalMs: 20_000 },
  resume: { header: true, stallMs: 300 },
  heartbeatMs: 60_000,
});

type Fault = 'cut' | 'stall';
const fault = (kind: Fault): Behavior => (kind === 'cut' ? behaviors.cutMidStream(AT, CHUNKS) : behaviors.stallMidStream(AT, CHUNKS));

/** The text of the last message, whatever the wire's shape of it. */
function lastMessageText(request: RecordedRequest): { role: string; text: string } {
  const body = request.json as Record<string, any>;
  const list: any[] = body.messages ?? body.input;
  const last = list.at(-1);
  const content = last.content;
  const text = typeof content === 'string' ? content : (content as any[]).map((part) => part.text ?? '').join('');
  return { role: last.role, text };
}

/** The chat completion text and last data frame of an OpenAI stream. */
async function chatStream(response: Response): Promise<{ text: string; last: Record<string, any> | undefined; done: boolean; errors: number }> {
  const frames = await readFrames(response);
  const data = frames.flatMap((frame) => (frame.data ? [frame.data as Record<string, any>] : []));
  return {
    text: data.map((chunk) => chunk.choices?.[0]?.delta?.content ?? '').join(''),
    last: data.at(-1),
    done: frames.at(-1)?.raw === 'data: [DONE]',
    errors: data.filter((chunk) => chunk.error !== undefined).length,
  };
}

/** The events of a Messages stream, checked for one coherent block sequence. */
async function messagesStream(response: Response): Promise<{ text: string; events: Array<Record<string, any>> }> {
  const raw = await response.text();
  const events = raw
    .split('\n\n')
    .filter((frame) => frame.includes('data: '))
    .map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as Record<string, any>);
  let open: number | undefined;
  let text = '';
  for (const event of events) {
    if (event.type === 'content_block_start') {
      expect(open).toBeUndefined();
      open = event.index;
    } else if (event.type === 'content_block_delta') {
      expect(event.index).toBe(open);
      if (event.delta.type === 'text_delta') text += event.delta.text;
    } else if (event.type === 'content_block_stop') {
      expect(event.index).toBe(open);
      open = undefined;
    }
  }
  return { text, events };
}

describe.each(ADAPTERS)('resume through %s', (adapter) => {
  let h: Harness;
  let key: string;

  beforeAll(async () => {
    h = await startHarness(adapter, { switchyard: options });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    h.upstream.setDefault(behaviors.continuation(LONG));
    key = callerKey();
  });

  const resumeHeaders = (extra: Record<string, string> = {}) => ({ 'x-llm-api-key': key, 'x-llm-resume': 'true', ...extra });

  for (const kind of ['cut', 'stall'] as const) {
    it(`/v1/chat/completions passed through: a ${kind} at 30% comes out whole, marked on the last frame, asked with the text sent`, async () => {
      h.upstream.enqueue(fault(kind));
      const response = await post(`${h.url}/v1/chat/completions`, { model: 'general', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'tell me about rivers' }] }, resumeHeaders());
      expect(response.status).toBe(200);
      const { text, last, done, errors } = await chatStream(response);
      expect(errors).toBe(0);
      expect(text).toBe(LONG);
      expect(done).toBe(true);
      // The usage chunk is the last frame: it carries the mark, and the usage of both calls.
      expect(last?.choices).toEqual([]);
      expect(last?.x_switchyard).toEqual({ resumed: [{ from: { provider: 'openai', model: 'gpt-5' }, to: { provider: 'openai', model: 'gpt-5-mini' }, at: SENT.length, code: kind === 'cut' ? 'upstream_error' : 'upstream_timeout' }] });
      expect(last?.usage.completion_tokens).toBe(LONG.slice(SENT.length).trim().split(/\s+/).length);
      const [first, second] = await h.upstream.waitForRequests(2);
      expect((first?.json as { model: string }).model).toBe('gpt-5');
      expect((second?.json as { model: string }).model).toBe('gpt-5-mini');
      // OpenAI takes no prefill: the partial answer as an assistant turn, then the instruction.
      const messages = (second?.json as { messages: Array<{ role: string; content: string }> }).messages;
      expect(messages.at(-2)).toEqual({ role: 'assistant', content: SENT });
      expect(messages.at(-1)?.role).toBe('user');
      expect(messages.at(-1)?.content.startsWith(INSTRUCTION_START)).toBe(true);
      // Same provider: the caller's own key went with the continuation.
      expect(second?.headers.authorization).toBe(`Bearer ${key}`);
    });

    it(`/v1/messages passed through: a ${kind} at 30% goes on in the same text block, asked with an Anthropic prefill`, async () => {
      h.upstream.enqueue(fault(kind));
      const response = await post(
        `${h.url}/v1/messages`,
        { model: 'general', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: 'tell me about rivers' }] },
        resumeHeaders({ 'x-llm-provider': 'anthropic', 'anthropic-version': '2023-06-01' }),
      );
      const { text, events } = await messagesStream(response);
      expect(text).toBe(LONG);
      expect(events.filter((event) => event.type === 'message_start')).toHaveLength(1);
      expect(events.filter((event) => event.type === 'content_block_start')).toHaveLength(1);
      expect(events.some((event) => event.type === 'error')).toBe(false);
      const stop = events.at(-1);
      expect(stop?.type).toBe('message_stop');
      expect(stop?.x_switchyard.resumed[0]).toMatchObject({ from: { provider: 'anthropic', model: 'claude-sonnet-4-5' }, to: { model: 'claude-haiku-4-5' }, at: SENT.length });
      const continuation = (await h.upstream.waitForRequests(2))[1] as RecordedRequest;
      expect(continuation.endpoint).toBe('messages');
      // The prefill: the text sent, trailing whitespace trimmed as Anthropic requires, as the last assistant turn.
      expect(lastMessageText(continuation)).toEqual({ role: 'assistant', text: SENT.trimEnd() });
      expect(continuation.headers['x-api-key']).toBe(key);
    });

    it(`/v1/responses passed through: a ${kind} at 30% goes on in the same message item, sequence numbers unbroken`, async () => {
      h.upstream.enqueue(fault(kind));
      const response = await post(`${h.url}/v1/responses`, { model: 'general', stream: true, input: 'tell me about rivers' }, resumeHeaders());
      const events = await responsesEvents(response);
      expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, i) => i));
      const deltas = events.filter((event) => event.type === 'response.output_text.delta');
      expect(deltas.map((event) => event.delta).join('')).toBe(LONG);
      expect(new Set(deltas.map((event) => event.item_id)).size).toBe(1);
      const completed = events.at(-1) as Record<string, any>;
      expect(completed.type).toBe('response.completed');
      expect(completed.response.id).toBe(events[0]?.response.id);
      expect(completed.response.output).toHaveLength(1);
      expect(completed.response.output[0].content[0].text).toBe(LONG);
      expect(completed.x_switchyard.resumed).toHaveLength(1);
      const continuation = (await h.upstream.waitForRequests(2))[1] as RecordedRequest;
      expect(continuation.endpoint).toBe('responses');
      const input = (continuation.json as { input: Array<Record<string, any>> }).input;
      expect(input.at(-2)).toMatchObject({ role: 'assistant' });
      expect(JSON.stringify(input.at(-2))).toContain(JSON.stringify(SENT).slice(1, -1));
    });

    it(`/api/chat: a ${kind} at 30% comes out whole, with a route event saying where it went on, and the summed usage`, async () => {
      h.upstream.enqueue(fault(kind));
      const events = await readEvents(await post(`${h.url}/api/chat`, { question: 'tell me about rivers' }, resumeHeaders()));
      expect(events.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe(LONG);
      const routes = events.filter((event) => event.type === 'route') as Array<Record<string, any>>;
      expect(routes).toHaveLength(2);
      expect(routes[1]?.content).toMatchObject({ provider: 'openai', model: 'gpt-5-mini', resumed: [{ from: { model: 'gpt-5' }, to: { model: 'gpt-5-mini' }, at: SENT.length }] });
      // The route event comes at the splice: after the text sent before the break, before the rest.
      const routeAt = events.indexOf(routes[1] as never);
      expect(events.slice(0, routeAt).filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe(SENT);
      expect(routes[1]?.content.attempts.map((attempt: Record<string, unknown>) => attempt.kind ?? 'first')).toEqual(['first', 'resume']);
      expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
      const cost = events.find((event) => event.type === 'costStatistics') as Record<string, any>;
      expect(cost.content.output_tokens).toBe(LONG.slice(SENT.length).trim().split(/\s+/).length);
    });
  }

  it('/v1/chat/completions translated (Anthropic upstream): a cut at 30% continues with a prefill, the SDK sees one answer', async () => {
    h.upstream.enqueue(fault('cut'));
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${h.url}/v1`, maxRetries: 0, defaultHeaders: resumeHeaders({ 'x-llm-provider': 'anthropic' }) });
    const stream = await client.chat.completions.create({ model: 'general', stream: true, messages: [{ role: 'user', content: 'tell me about rivers' }] });
    let text = '';
    let last: Record<string, any> | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      last = chunk as unknown as Record<string, any>;
    }
    expect(text).toBe(LONG);
    expect(last?.choices[0].finish_reason).toBe('stop');
    expect(last?.x_switchyard.resumed[0].to).toEqual({ provider: 'anthropic', model: 'claude-haiku-4-5' });
    const continuation = (await h.upstream.waitForRequests(2))[1] as RecordedRequest;
    expect(continuation.endpoint).toBe('messages');
    expect(lastMessageText(continuation)).toEqual({ role: 'assistant', text: SENT.trimEnd() });
  });

  it('/v1/messages translated (OpenAI upstream): a stall at 30% comes out whole through the Anthropic SDK', async () => {
    h.upstream.enqueue(fault('stall'));
    const client = new Anthropic({ apiKey: null, baseURL: h.url, maxRetries: 0, defaultHeaders: { 'x-api-key': key, 'x-llm-resume': 'true', 'x-llm-provider': 'openai' } });
    const message = await client.messages.stream({ model: 'general', max_tokens: 1024, messages: [{ role: 'user', content: 'tell me about rivers' }] }).finalMessage();
    expect(message.content).toHaveLength(1);
    expect(message.content[0]?.type === 'text' && message.content[0].text).toBe(LONG);
    expect(message.stop_reason).toBe('end_turn');
    expect((await h.upstream.waitForRequests(2))[1]?.endpoint).toBe('chat');
  });

  it('/v1/responses translated (chat-only upstream via the OpenAI SDK): a cut at 30% comes out whole', async () => {
    const local = await startHarness(adapter, {
      upstream: h.upstream,
      switchyard: (upstream) => ({ ...options(upstream), providers: { openai: { baseUrl: upstream.url, wires: ['chat'] } } }),
    });
    try {
      h.upstream.enqueue(fault('cut'));
      const client = new OpenAI({ apiKey: key, baseURL: `${local.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-llm-api-key': key, 'x-llm-resume': 'true' } });
      const stream = await client.responses.create({ model: 'general', stream: true, input: 'tell me about rivers' });
      let text = '';
      let completed: Record<string, any> | undefined;
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta') text += event.delta;
        if (event.type === 'response.completed') completed = event as unknown as Record<string, any>;
      }
      expect(text).toBe(LONG);
      expect(completed?.response.output_text ?? completed?.response.output[0].content[0].text).toBe(LONG);
      expect(completed?.x_switchyard.resumed).toHaveLength(1);
    } finally {
      await local.close();
    }
  });

  it('removes the overlap when the continuation says the end of the sent text again, or starts over', async () => {
    h.upstream.enqueue(fault('cut'), behaviors.continuation(LONG, { overlap: 40 }), fault('cut'), behaviors.continuation(LONG, { restart: true }));
    for (let i = 0; i < 2; i++) {
      const response = await post(`${h.url}/v1/chat/completions`, { model: 'general', stream: true, messages: [{ role: 'user', content: 'tell me about rivers' }] }, resumeHeaders());
      const { text, last } = await chatStream(response);
      expect(text).toBe(LONG);
      // Without include_usage the finish chunk is the last frame, and carries the mark.
      expect(last?.choices[0].finish_reason).toBe('stop');
      expect(last?.x_switchyard.resumed).toHaveLength(1);
    }
  });

  it('without the opt-in, a cut or a stall is the explicit error of today (no continuation asked)', async () => {
    h.upstream.enqueue(fault('cut'), fault('stall'));
    for (const code of ['upstream_error', 'upstream_timeout']) {
      const response = await post(`${h.url}/v1/chat/completions`, { model: 'general', stream: true, messages: [{ role: 'user', content: 'tell me about rivers' }] }, { 'x-llm-api-key': key });
      const { text, done, last } = await chatStream(response);
      expect(text).toBe(SENT);
      expect(done).toBe(false);
      expect(last?.error.code).toBe(code);
    }
    const events = await readEvents(await post(`${h.url}/api/chat`, { question: 'x' }, { 'x-llm-api-key': key, 'x-llm-resume': 'false' }).then(async (r) => r));
    expect(events.at(-1)).toMatchObject({ type: 'end' });
    expect(h.upstream.requests.filter((request) => request.endpoint === 'chat')).toHaveLength(3);
  });

  it('the WebSocket chat: a cut at 30% of a turn comes out whole, the route event at the splice, the next turn unaffected', async () => {
    h.upstream.enqueue(fault('cut'));
    const socket = await ChatSocket.open(h.wsUrl, { headers: resumeHeaders() });
    try {
      const events = await socket.ask({ question: 'tell me about rivers' });
      expect(replyText(events)).toBe(LONG);
      expect(events.filter((event) => event.type === 'route').at(-1)).toMatchObject({ content: { model: 'gpt-5-mini', resumed: [{ at: SENT.length }] } });
      expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
      expect(replyText(await socket.ask({ question: 'again' }))).toBe(LONG);
    } finally {
      await socket.close();
    }
  });

  it('refuses an X-LLM-Resume that is neither true nor false, before any upstream call', async () => {
    const response = await post(`${h.url}/v1/chat/completions`, { model: 'general', stream: true, messages: [{ role: 'user', content: 'x' }] }, { 'x-llm-api-key': key, 'x-llm-resume': 'yes please' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string; hint: string } }).error).toMatchObject({ code: 'invalid_request', hint: expect.stringContaining('X-LLM-Resume: true') });
    const chat = await post(`${h.url}/api/chat`, { question: 'x' }, { 'x-llm-api-key': key, 'x-llm-resume': '1' });
    expect(chat.status).toBe(400);
    expect(h.upstream.requests).toHaveLength(0);
  });
});

describe.each(ADAPTERS)('resume and keys through %s', (adapter) => {
  const operatorKey = `sk-operator-${Date.now()}`;
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(adapter, {
      switchyard: (upstream) => ({
        ...options(upstream),
        providers: {
          openai: { baseUrl: upstream.url, tiers: { general: ['gpt-5'] } },
          backup: { baseUrl: `${upstream.origin}/backup/v1`, apiKey: operatorKey, clusters: ['global'], tiers: { general: ['backup-model'] } },
        },
        failover: ['backup'],
        resume: { tiers: ['general'], stallMs: 300 },
      }),
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    h.upstream.setDefault(behaviors.continuation(LONG));
  });

  it("a continuation on a failover provider goes with the operator's key, never the caller's (tier opt-in, no header)", async () => {
    const key = callerKey();
    // The break, then the same model again refuses the continuation: the plan takes it to the failover provider.
    h.upstream.enqueue(fault('cut'), behaviors.status(500, { error: { message: 'boom', type: 'server_error' } }));
    const response = await post(`${h.url}/v1/chat/completions`, { model: 'general', stream: true, messages: [{ role: 'user', content: 'tell me about rivers' }] }, { 'x-llm-api-key': key });
    const { text, last } = await chatStream(response);
    expect(text).toBe(LONG);
    expect(last?.x_switchyard.resumed).toEqual([{ from: { provider: 'openai', model: 'gpt-5' }, to: { provider: 'backup', model: 'backup-model' }, at: SENT.length, code: 'upstream_error' }]);
    const requests = await h.upstream.waitForRequests(3);
    expect(requests.map((request) => request.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/backup/v1/chat/completions']);
    expect(requests.slice(0, 2).map((request) => request.headers.authorization)).toEqual([`Bearer ${key}`, `Bearer ${key}`]);
    expect(requests[2]?.headers.authorization).toBe(`Bearer ${operatorKey}`);
    expect(JSON.stringify(requests[2]?.headers)).not.toContain(key);
    expect(requests[2]?.body).not.toContain(key);
  });

  it('with nowhere to go but another provider and no operator key there, the break is the explicit error; the caller key stays home', async () => {
    const local = await startHarness(adapter, {
      upstream: h.upstream,
      switchyard: (upstream) => ({
        ...options(upstream),
        providers: {
          openai: { baseUrl: upstream.url, tiers: { general: ['gpt-5'] } },
          keyless: { baseUrl: `${upstream.origin}/keyless/v1`, clusters: ['global'], tiers: { general: ['keyless-model'] } },
        },
        failover: ['keyless'],
        resume: { tiers: ['*'] },
      }),
    });
    try {
      const key = callerKey();
      h.upstream.enqueue(fault('cut'), behaviors.status(500, { error: { message: 'boom', type: 'server_error' } }));
      const response = await post(`${local.url}/v1/chat/completions`, { model: 'general', stream: true, messages: [{ role: 'user', content: 'tell me about rivers' }] }, { 'x-llm-api-key': key });
      const { text, last, done } = await chatStream(response);
      expect(text).toBe(SENT);
      expect(done).toBe(false);
      expect(last?.error.code).toBe('upstream_error');
      const requests = await h.upstream.waitForRequests(2);
      expect(requests).toHaveLength(2);
      expect(requests.every((request) => request.path === '/v1/chat/completions' && request.headers.authorization === `Bearer ${key}`)).toBe(true);
    } finally {
      await local.close();
    }
  });
});
