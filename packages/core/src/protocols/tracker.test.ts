/**
 * The trackers of streams forwarded as bytes (resume): only whole frames go out, error frames are held back, and an
 * encoder taking over from any point continues one valid stream of the same wire (ids, block indexes, sequence
 * numbers), checked by decoding what the client would have received end to end. Recorded streams of each wire.
 */
import { describe, expect, it } from 'vitest';
import { readFixture } from '@switchyard/testkit';
import { SwitchyardError } from '../errors.js';
import type { StreamPart } from '../stream/parts.js';
import type { WireCodec } from './codec.js';
import { codecFor } from './index.js';

const META = { id: 'fallback', model: 'fallback-model', created: 1 };

/** Pushes `bytes` through a tracker in 7-byte pieces; returns what went out, and the tracker. */
function forward(codec: WireCodec, bytes: Buffer, end = false) {
  const tracker = codec.createTracker({ provider: 'p' });
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 7) {
    const piece = tracker.push(bytes.subarray(at, at + 7));
    if (piece) out.push(Buffer.from(piece));
  }
  if (end) {
    const rest = tracker.end();
    if (rest) out.push(Buffer.from(rest));
  }
  return { tracker, sent: Buffer.concat(out) };
}

/** What a client's decoder makes of a whole stream: every part, and the text. */
function decode(codec: WireCodec, text: string): { parts: StreamPart[]; text: string } {
  const decoder = codec.createDecoder({ provider: 'client' });
  const parts = [...decoder.push(Buffer.from(text)), ...decoder.end()];
  return { parts, text: parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('') };
}

/** Cuts a recorded stream `cut` bytes in, takes it over, and ends it with more text. */
function takeOver(codec: WireCodec, fixture: string, cut: number, more = ' And that is all.') {
  const bytes = Buffer.from(readFixture(fixture));
  const { tracker, sent } = forward(codec, bytes.subarray(0, cut));
  const encoder = tracker.continuation({ fallback: META, includeUsage: true });
  encoder.annotate({ x_switchyard: { resumed: [{ at: tracker.sent.text.length }] } });
  const continued =
    encoder.encode({ type: 'text', text: more }) +
    encoder.encode({ type: 'finish', reason: 'stop' }) +
    encoder.encode({ type: 'usage', usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 } }) +
    encoder.end();
  return { tracker, sent: sent.toString('utf8'), continued, client: decode(codec, sent.toString('utf8') + continued) };
}

describe('only whole frames go out', () => {
  it.for(['openai-text.sse.txt', 'anthropic-thinking.sse.txt', 'openai-responses-reasoning-summary.sse.txt'])('%s: byte for byte, a frame at a time, and complete', (fixture) => {
    const wire = fixture.startsWith('anthropic') ? 'messages' : fixture.includes('responses') ? 'responses' : 'chat';
    const bytes = Buffer.from(readFixture(fixture));
    const { tracker, sent } = forward(codecFor(wire), bytes, true);
    expect(sent.equals(bytes)).toBe(true);
    expect(tracker.complete).toBe(true);
    expect(tracker.error).toBeUndefined();
    expect(tracker.sent.text).toBe(decode(codecFor(wire), bytes.toString('utf8')).text);
    // Cut anywhere: what went out ends at a blank line.
    for (const cut of [40, 333, Math.floor(bytes.length / 2)]) {
      const part = forward(codecFor(wire), bytes.subarray(0, cut)).sent.toString('latin1');
      expect(part === '' || /(\n\n|\r\n\r\n)$/.test(part)).toBe(true);
      expect(bytes.toString('latin1').startsWith(part)).toBe(true);
    }
  });

  it("holds the upstream's error frame back, and everything after it", () => {
    const codec = codecFor('chat');
    const frames = 'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n';
    const error = 'data: {"error":{"message":"overloaded","type":"server_error","code":null}}\n\n';
    const tracker = codec.createTracker({ provider: 'p' });
    expect(Buffer.from(tracker.push(Buffer.from(frames + error + frames)) ?? []).toString()).toBe(frames);
    expect(tracker.push(Buffer.from(frames))).toBeUndefined();
    expect(SwitchyardError.isInstance(tracker.error)).toBe(true);
    expect(tracker.error?.code).toBe('upstream_error');
    expect(tracker.sent.text).toBe('Hi');
  });

  it('a stream that ended after its finish but before its last event is complete, with what it lacks added', () => {
    const codec = codecFor('chat');
    const text = readFixture('openai-text.sse.txt').replace('data: [DONE]\n\n', '');
    const { tracker } = forward(codec, Buffer.from(text), true);
    expect(tracker.complete).toBe(true);
    expect(tracker.closingFrames()).toBe('data: [DONE]\n\n');
  });
});

describe('an encoder takes over mid-stream and the client sees one valid stream', () => {
  it('Chat Completions: the same id, created and model, no second role chunk, the mark on the usage chunk', () => {
    const bytes = readFixture('openai-text.sse.txt');
    const cut = bytes.indexOf('data:', Math.floor(bytes.length / 2)) + 20;
    const { tracker, sent, continued, client } = takeOver(codecFor('chat'), 'openai-text.sse.txt', cut);
    expect(client.parts.some((part) => part.type === 'error')).toBe(false);
    expect(client.text).toBe(`${tracker.sent.text} And that is all.`);
    const first = JSON.parse(sent.slice(6, sent.indexOf('\n'))) as { id: string; created: number; model: string };
    const chunks = continued.split('\n\n').filter((frame) => frame.startsWith('data: {')).map((frame) => JSON.parse(frame.slice(6)) as Record<string, any>);
    for (const chunk of chunks) expect([chunk.id, chunk.created, chunk.model]).toEqual([first.id, first.created, first.model]);
    expect(chunks.some((chunk) => chunk.choices[0]?.delta?.role !== undefined)).toBe(false);
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(chunks.at(-1)?.x_switchyard).toEqual({ resumed: [{ at: tracker.sent.text.length }] });
    expect(continued.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('Anthropic Messages, cut inside the thinking block: the block is closed, the text opens the next index', () => {
    const bytes = readFixture('anthropic-thinking.sse.txt');
    const cut = bytes.indexOf('thinking_delta', bytes.indexOf('thinking_delta') + 1) + 40;
    const { tracker, sent, continued, client } = takeOver(codecFor('messages'), 'anthropic-thinking.sse.txt', cut);
    expect(tracker.sent.reasoning).toBe(true);
    expect(client.parts.some((part) => part.type === 'error')).toBe(false);
    expect(client.text).toBe(' And that is all.');
    expect(continued.startsWith('event: content_block_stop\ndata: {"type":"content_block_stop","index":0}')).toBe(true);
    expect(continued).toContain('"content_block_start","index":1,"content_block":{"type":"text"');
    expect(sent.match(/event: message_start/g)).toHaveLength(1);
    expect(continued).not.toContain('message_start');
    expect(continued.trimEnd().endsWith('data: {"type":"message_stop","x_switchyard":{"resumed":[{"at":0}]}}')).toBe(true);
  });

  it('Anthropic Messages, cut inside the text block: the text goes on in the same block', () => {
    const bytes = readFixture('anthropic-thinking.sse.txt');
    const cut = bytes.indexOf('text_delta', bytes.indexOf('text_delta') + 1) + 30;
    const { tracker, continued, client } = takeOver(codecFor('messages'), 'anthropic-thinking.sse.txt', cut);
    expect(tracker.sent.text.length).toBeGreaterThan(0);
    expect(client.parts.some((part) => part.type === 'error')).toBe(false);
    expect(client.text).toBe(`${tracker.sent.text} And that is all.`);
    expect(continued.startsWith('event: content_block_delta\ndata: {"type":"content_block_delta","index":1,')).toBe(true);
    const usage = JSON.parse(continued.split('\n\n').find((frame) => frame.startsWith('event: message_delta'))!.split('data: ')[1] as string).usage;
    expect(usage.output_tokens).toBe(4);
  });

  it('Responses, cut inside the message after a reasoning item: sequence numbers go on, the item closes whole, the output keeps both items', () => {
    const bytes = readFixture('openai-responses-reasoning-summary.sse.txt');
    const cut = bytes.indexOf('output_text.delta', bytes.indexOf('output_text.delta') + 400) + 60;
    const { tracker, sent, continued, client } = takeOver(codecFor('responses'), 'openai-responses-reasoning-summary.sse.txt', cut);
    expect(client.parts.some((part) => part.type === 'error')).toBe(false);
    expect(client.text).toBe(`${tracker.sent.text} And that is all.`);
    // The recording skips numbers (its frames were trimmed); the continuation goes on from the last one that went out.
    const numbers = (text: string) => text.match(/"sequence_number":(\d+)/g)!.map((match) => Number(match.split(':')[1]));
    const last = numbers(sent).at(-1) as number;
    const next = numbers(continued);
    expect(next).toEqual(next.map((_, i) => last + 1 + i));
    const events = continued.split('\n\n').filter((frame) => frame.startsWith('event:')).map((frame) => JSON.parse(frame.split('\ndata: ')[1] as string) as Record<string, any>);
    const done = events.find((event) => event.type === 'response.output_text.done');
    expect(done?.text).toBe(`${tracker.sent.text} And that is all.`);
    const completed = events.at(-1);
    expect(completed?.type).toBe('response.completed');
    expect(completed?.response.id).toBe('resp_6877c00e3380819d83a86eb2b2b4fe17014f759afd995257');
    expect(completed?.response.model).toBe('o4-mini-2025-04-16');
    expect(completed?.response.output.map((item: { type: string }) => item.type)).toEqual(['reasoning', 'message']);
    expect(completed?.response.usage.output_tokens).toBe(4);
    expect(completed?.x_switchyard).toBeDefined();
  });

  it('Responses, cut inside the reasoning summary: the reasoning item closes, a message item follows at the next index', () => {
    const bytes = readFixture('openai-responses-reasoning-summary.sse.txt');
    // Inside the second summary delta: the first went out whole.
    const cut = bytes.indexOf('event: response.reasoning_summary_text.delta', bytes.indexOf('"delta":"**Sol"')) + 60;
    const { tracker, continued, client } = takeOver(codecFor('responses'), 'openai-responses-reasoning-summary.sse.txt', cut);
    expect(tracker.sent.reasoning).toBe(true);
    expect(client.parts.some((part) => part.type === 'error')).toBe(false);
    expect(client.text).toBe(' And that is all.');
    const events = continued.split('\n\n').filter((frame) => frame.startsWith('event:')).map((frame) => JSON.parse(frame.split('\ndata: ')[1] as string) as Record<string, any>);
    expect(events.slice(0, 3).map((event) => event.type)).toEqual(['response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.output_item.done']);
    expect(events[2]?.item.type).toBe('reasoning');
    const added = events.find((event) => event.type === 'response.output_item.added');
    expect([added?.output_index, added?.item.type]).toEqual([1, 'message']);
    expect(events.at(-1)?.response.output.map((item: { type: string }) => item.type)).toEqual(['reasoning', 'message']);
  });

  it('a break before the first frame: the encoder opens the stream itself, with the fallback identity', () => {
    const tracker = codecFor('chat').createTracker({ provider: 'p' });
    const encoder = tracker.continuation({ fallback: META });
    const out = encoder.encode({ type: 'text', text: 'x' });
    expect(out).toContain('"role":"assistant"');
    expect(out).toContain('"id":"fallback"');
  });

  it('an open tool_use block or function call cannot be taken over', () => {
    const messages = codecFor('messages').createTracker({});
    messages.push(Buffer.from(readFixture('anthropic-tool-use.sse.txt').split('"input_json_delta"')[0] as string));
    expect(messages.untakeable).toMatch(/tool_use block was open/);
    const responses = codecFor('responses').createTracker({});
    const text = readFixture('openai-responses-function-call.sse.txt');
    responses.push(Buffer.from(text.slice(0, text.indexOf('function_call_arguments.delta'))));
    expect(responses.untakeable).toMatch(/function_call item was open/);
  });
});
