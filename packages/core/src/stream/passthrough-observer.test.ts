import { afterEach, describe, expect, it, vi } from 'vitest';
import { normalizeUpstreamError } from '../upstream-errors.js';
import { createChunkReader } from './chunk-parts.js';
import { createPassthroughObserver, type PassthroughObserver } from './passthrough-observer.js';
import { createSseParser } from './sse-parser.js';
import { fixtureBytes, seededRandom, splitRandomly, streamFixtureNames, withLineEnds } from './test-support.js';

vi.mock('../upstream-errors.js', { spy: true });
vi.mock('./sse-parser.js', { spy: true });

afterEach(() => {
  vi.restoreAllMocks();
});

function observe(chunks: Iterable<Uint8Array>): PassthroughObserver {
  const observer = createPassthroughObserver({ provider: 'test' });
  for (const chunk of chunks) observer.push(chunk);
  observer.end();
  return observer;
}

/** Observes without calling end(): what the observer knows while the stream is still open. */
function observeOpen(chunks: Iterable<Uint8Array>): PassthroughObserver {
  const observer = createPassthroughObserver({ provider: 'test' });
  for (const chunk of chunks) observer.push(chunk);
  return observer;
}

/** What the full parser and chunk reader make of the same bytes. */
function fullRead(bytes: Buffer) {
  const parser = createSseParser();
  const reader = createChunkReader();
  let sawDone = false;
  for (const event of [...parser.push(bytes), ...parser.end()]) {
    if (event.data === '[DONE]') {
      sawDone = true;
      break;
    }
    reader.read(JSON.parse(event.data));
  }
  return { usage: reader.state.usage, finishReason: reader.state.finishReason, model: reader.state.model, sawDone };
}

function summary(observer: PassthroughObserver) {
  return { usage: observer.usage, finishReason: observer.finishReason, model: observer.model, sawDone: observer.sawDone };
}

const frame = (json: unknown) => `data: ${JSON.stringify(json)}\n\n`;
const content = (text: string) => frame({ model: 'm', choices: [{ index: 0, delta: { content: text }, finish_reason: null }], usage: null });
const finish = frame({ model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null });
const usage = frame({ model: 'm', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } });
const bytes = (...texts: string[]) => texts.map((text) => Buffer.from(text));

describe('frames that arrive one at a time', () => {
  it('learns a finish reason, usage and [DONE] that come in their own frames, spaced or not', () => {
    const spaced = 'data: {"model":"m","choices":[{"index":0,"delta":{},"finish_reason" : "length"}]}\n\n';
    const spacedUsage = 'data: {"choices":[],"usage" :\t{"prompt_tokens":4,"completion_tokens":5,"total_tokens":9}}\n\n';
    const observer = observe(bytes(content('a'), content('b'), spaced, spacedUsage, 'data: [DONE]\n\n'));
    expect(observer.finishReason).toBe('length');
    expect(observer.usage).toMatchObject({ input_tokens: 4, output_tokens: 5 });
    expect(observer.sawDone).toBe(true);
    expect(observer.complete).toBe(true);
  });

  it('sees an error frame and an event: error after text frames', () => {
    const errorFrame = frame({ error: { message: 'overloaded', type: 'server_error' } });
    expect(observe(bytes(content('a'), errorFrame)).errorFrameSeen).toBe(true);
    const named = observe(bytes(content('a'), 'event: error\ndata: upstream fell over\n\n'));
    expect(named.error).toBeDefined();
    expect(named.errorFrameSeen).toBe(true);
  });

  it('does not take a quoted "usage" inside text for a usage object', () => {
    const observer = observeOpen(bytes(content('a'), content('see "usage": {"total_tokens": 1}')));
    expect(observer.usage).toBeUndefined();
    expect(observer.finishReason).toBeUndefined();
  });
});

describe('createPassthroughObserver agrees with the full reader on every recorded stream', () => {
  it.each(streamFixtureNames())('%s, whole, under random splits, and with \\r\\n line ends', (name) => {
    const recorded = fixtureBytes(name);
    const expected = fullRead(recorded);
    expect(expected.finishReason).toBeDefined();
    const whole = observe([recorded]);
    expect(summary(whole)).toEqual(expected);
    expect(whole.complete).toBe(true);
    expect(whole.error).toBeUndefined();
    const random = seededRandom(7 + name.length);
    for (let round = 0; round < 30; round++) {
      expect(summary(observe(splitRandomly(recorded, random, 1 + round * 8)))).toEqual(expected);
    }
    for (const lineEnd of ['\r\n', '\r'] as const) {
      for (let round = 0; round < 5; round++) {
        expect(summary(observe(splitRandomly(withLineEnds(recorded, lineEnd), random, 50)))).toEqual(expected);
      }
    }
    // Frame by frame and two frames at a time, as servers write them.
    const frames = recorded.toString('latin1').split(/(?<=\n\n)/).map((text) => Buffer.from(text, 'latin1'));
    expect(frames.length).toBeGreaterThan(2);
    expect(summary(observe(frames))).toEqual(expected);
    const pairs = frames.flatMap((chunk, i) => (i % 2 === 0 ? [Buffer.concat([chunk, frames[i + 1] ?? Buffer.alloc(0)])] : []));
    expect(summary(observe(pairs))).toEqual(expected);
    // Every recording ends with a blank line, so all is known before end().
    expect(summary(observeOpen(splitRandomly(recorded, random, 64)))).toEqual(expected);
    expect(summary(observeOpen(splitRandomly(withLineEnds(recorded, '\r\n'), random, 64)))).toEqual(expected);
    expect(summary(observeOpen(splitRandomly(withLineEnds(recorded, '\r'), random, 64)))).toEqual(expected);
  });

  it('azure-openai-gpt-5.2-text one byte at a time, after a BOM', () => {
    const recorded = fixtureBytes('azure-openai-gpt-5.2-text');
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), recorded]);
    const observer = observe(Array.from(withBom, (byte) => Uint8Array.of(byte)));
    expect(summary(observer)).toEqual(fullRead(recorded));
    expect(observer.complete).toBe(true);
  });
});

describe('createPassthroughObserver', () => {
  it('parses only the frames that carry usage, a finish reason or an error', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const cases: Array<[string, number]> = [
      ['openai-text-complete', 2], // the finish frame and the usage frame of 34
      ['openai-gpt5-text-no-usage', 1],
      ['openai-n3-choices', 4], // three finish frames and one usage frame
      ['deepseek-v4-pro-reasoning', 1], // usage sits on the finish frame
      ['azure-openai-model-router', 2],
    ];
    for (const [name, frames] of cases) {
      parse.mockClear();
      observe([fixtureBytes(name)]);
      expect(parse.mock.calls.length, name).toBe(frames);
    }
    // Keys that only end like the ones it looks for.
    parse.mockClear();
    const lookalikes = frame({ model: 'm', choices: [], not_usage: { a: 1 }, my_finish_reason: 'x', cost_usage: { b: 2 } });
    const observer = observe(bytes(lookalikes, lookalikes + usage));
    expect(parse.mock.calls.length).toBe(1);
    expect(observer.usage).toEqual({ input_tokens: 1, output_tokens: 2, total_tokens: 3 });
  });

  it('stays on the byte fast path for plain data frames, comments and a BOM', () => {
    const recorded = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(': ping\n\n'), fixtureBytes('openai-text')]);
    const parser = vi.mocked(createSseParser);
    parser.mockClear();
    const observer = observe(splitRandomly(recorded, seededRandom(3), 40));
    expect(observer.usage).toEqual({ input_tokens: 16, output_tokens: 300, total_tokens: 316, reasoning_tokens: 0, cached_tokens: 0 });
    // The full SSE parser is only for streams the fast path cannot read.
    expect(parser).not.toHaveBeenCalled();
    observe(bytes('event: message\n' + finish));
    expect(parser).toHaveBeenCalled();
  });

  it('skips the empty model of the Azure filter frame and keeps the first real one', () => {
    expect(observe([fixtureBytes('azure-openai-gpt-4o-mini-text')]).model).toBe('gpt-4o-mini-2024-07-18');
    expect(observe(bytes(frame({ model: 'a\\/b"c', choices: [] }), finish)).model).toBe('a\\/b"c');
  });

  it('finds usage and finish reasons in JSON written with spaces', () => {
    const spaced =
      'data: {"model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}], "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}}\n\n';
    const observer = observe(bytes(spaced));
    expect(observer.finishReason).toBe('length');
    expect(observer.usage).toEqual({ input_tokens: 4, output_tokens: 5, total_tokens: 9 });
    expect(observer.model).toBe('m');
  });

  it('is not fooled by the keys inside streamed text', () => {
    const tricky = content('"finish_reason":"stop","usage":{"prompt_tokens":1}');
    const observer = observe(bytes(tricky));
    expect(observer.finishReason).toBeUndefined();
    expect(observer.usage).toBeUndefined();
  });

  it('reads frames with other fields, comments and multi-line data through the full parser', () => {
    const observer = observe(bytes(': OPENROUTER PROCESSING\n\n', 'id: 1\nevent: message\n' + content('a'), 'data: {"model":"m","choices":[{"index":0,\ndata: "delta":{},"finish_reason":"stop"}]}\n\n', usage));
    expect(observer.finishReason).toBe('stop');
    expect(observer.usage).toEqual({ input_tokens: 1, output_tokens: 2, total_tokens: 3 });
    expect(observer.complete).toBe(true);
  });

  it('sees [DONE] and ignores anything after it', () => {
    const observer = observe(bytes(content('a'), finish, 'data: [DONE]\n\n', 'data: {"error":{"message":"late"}}\n\n'));
    expect(observer.sawDone).toBe(true);
    expect(observer.error).toBeUndefined();
    expect(observer.complete).toBe(true);
  });

  it('counts a last frame whose blank line never came', () => {
    const observer = observe(bytes(content('a'), finish, 'data: [DONE]\n'));
    expect(observer.sawDone).toBe(true);
  });

  it('reports a stream cut off before its finish, after end()', () => {
    const observer = createPassthroughObserver({ provider: 'openai' });
    observer.push(Buffer.from(content('a') + content('b').slice(0, 30)));
    expect(observer.error).toBeUndefined();
    expect(observer.complete).toBe(false);
    observer.end();
    expect(observer.complete).toBe(false);
    expect(observer.error?.code).toBe('upstream_error');
    expect(observer.error?.message).toBe('the stream ended before it finished');
    expect(observer.error?.provider).toBe('openai');
  });

  it('a finish without [DONE] is complete', () => {
    const observer = observe(bytes(content('a'), finish, usage));
    expect(observer.complete).toBe(true);
    expect(observer.sawDone).toBe(false);
  });

  it('reports a mid-stream error frame through normalizeUpstreamError', () => {
    const errorFrame = 'data: {"error":{"code":"data_inspection_failed","message":"Output data may contain inappropriate content."}}\n\n';
    const observer = observe(bytes(content('a'), errorFrame, finish));
    expect(observer.error).toBeDefined();
    expect(observer.complete).toBe(false);
    expect(observer.finishReason).toBeUndefined();
    expect(vi.mocked(normalizeUpstreamError)).toHaveBeenLastCalledWith({
      status: 500,
      body: errorFrame.slice('data: '.length, -2),
      provider: 'test',
    });
  });

  it('reports a frame it had to parse that is not JSON', () => {
    const observer = observe(bytes(content('a'), 'data: {"finish_reason":"stop", oops\n\n'));
    expect(observer.error?.message).toBe('the upstream sent a stream frame that is not JSON');
  });

  it('takes Uint8Arrays that are not Buffers', () => {
    const encoded = new TextEncoder().encode(content('a') + finish);
    expect(observe([encoded.subarray(0, 10), encoded.subarray(10)]).finishReason).toBe('stop');
  });
});
