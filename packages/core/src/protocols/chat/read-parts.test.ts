import { describe, expect, it, vi } from 'vitest';
import { SwitchyardError } from '../../errors.js';
import { normalizeUpstreamError } from '../../upstream-errors.js';
import type { StreamPart } from '../../stream/parts.js';
import { readParts } from './read-parts.js';
import { bodyOf, collect, fixtureBytes, seededRandom, splitRandomly, streamFixtureNames } from '../../stream/test-support.js';

vi.mock('../../upstream-errors.js', { spy: true });

const frame = (json: unknown) => `data: ${JSON.stringify(json)}\n\n`;
const content = (text: string) => frame({ model: 'm', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] });
const finish = frame({ model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
const bytes = (...frames: string[]) => frames.map((text) => Buffer.from(text));

function textOf(parts: StreamPart[]): string {
  return parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

function lastError(parts: StreamPart[]): SwitchyardError | undefined {
  const last = parts.at(-1);
  return last?.type === 'error' ? last.error : undefined;
}

/** A body that records how far it was read and whether it was closed. */
function trackedBody(chunks: Uint8Array[]) {
  const seen = { pulled: 0, closed: false };
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        async next() {
          if (i >= chunks.length) return { done: true, value: undefined };
          seen.pulled++;
          return { done: false, value: chunks[i++] as Uint8Array };
        },
        async return() {
          seen.closed = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { body, seen };
}

describe('readParts on every recorded stream', () => {
  it.each(streamFixtureNames())('%s ends cleanly, whatever the chunking', async (name) => {
    const whole = await collect(readParts(bodyOf([fixtureBytes(name)]), { provider: 'test' }));
    expect(whole.filter((part) => part.type === 'error')).toEqual([]);
    expect(whole.filter((part) => part.type === 'finish')).toHaveLength(1);
    const random = seededRandom(42);
    for (let round = 0; round < 5; round++) {
      expect(await collect(readParts(bodyOf(splitRandomly(fixtureBytes(name), random, 97))))).toEqual(whole);
    }
  });
});

describe('readParts', () => {
  it('ends at [DONE] without reading further, and closes the body', async () => {
    const { body, seen } = trackedBody(bytes(content('a'), finish, 'data: [DONE]\n\n', content('after')));
    const parts = await collect(readParts(body));
    expect(textOf(parts)).toBe('a');
    expect(seen).toEqual({ pulled: 3, closed: true });
  });

  it('accepts a body that ends after the finish without [DONE]', async () => {
    const parts = await collect(readParts(bodyOf(bytes(content('a'), finish))));
    expect(parts).toEqual([
      { type: 'text', text: 'a' },
      { type: 'finish', reason: 'stop', model: 'm' },
    ]);
  });

  it('ends a body cut off before its finish with an upstream_error part', async () => {
    const parts = await collect(readParts(bodyOf(bytes(content('Hel'), content('lo'))), { provider: 'dashscope' }));
    expect(textOf(parts)).toBe('Hello');
    const error = lastError(parts);
    expect(error?.code).toBe('upstream_error');
    expect(error?.message).toBe('the stream ended before it finished');
    expect(error?.provider).toBe('dashscope');
  });

  it('ends a recorded stream cut off in the middle of a frame with an upstream_error part', async () => {
    const recorded = fixtureBytes('openai-text-complete');
    const cut = recorded.subarray(0, recorded.indexOf('"finish_reason":"stop"') - 20);
    const parts = await collect(readParts(bodyOf([cut])));
    expect(textOf(parts).startsWith("I'm unable to provide real-time weather updates.")).toBe(true);
    expect(parts.filter((part) => part.type === 'finish')).toEqual([]);
    expect(lastError(parts)?.message).toBe('the stream ended before it finished');
  });

  it('an empty body is a broken stream too', async () => {
    expect(lastError(await collect(readParts(bodyOf([]))))?.code).toBe('upstream_error');
  });

  it('turns a mid-stream error frame into an error part and stops', async () => {
    const errorFrame =
      'data: {"error":{"message":"The server had an error processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}\n\n';
    const { body, seen } = trackedBody(bytes(content('a'), errorFrame, content('b'), finish));
    const parts = await collect(readParts(body, { provider: 'openai' }));
    expect(parts.map((part) => part.type)).toEqual(['text', 'error']);
    expect(SwitchyardError.isInstance(lastError(parts))).toBe(true);
    expect(vi.mocked(normalizeUpstreamError)).toHaveBeenLastCalledWith({
      status: 500,
      body: errorFrame.slice('data: '.length, -2),
      provider: 'openai',
    });
    expect(seen.closed).toBe(true);
  });

  it('reads `event: error` with a body of its own as an error', async () => {
    const parts = await collect(readParts(bodyOf(bytes(content('a'), 'event: error\ndata: overloaded\n\n', finish)), { provider: 'x' }));
    expect(parts.map((part) => part.type)).toEqual(['text', 'error']);
    expect(vi.mocked(normalizeUpstreamError)).toHaveBeenLastCalledWith({ status: 500, body: 'overloaded', provider: 'x' });
  });

  it('turns a frame that is not JSON into an error part and stops', async () => {
    const parts = await collect(readParts(bodyOf(bytes(content('a'), 'data: <html>502 Bad Gateway</html>\n\n', finish))));
    expect(parts.map((part) => part.type)).toEqual(['text', 'error']);
    expect(lastError(parts)?.code).toBe('upstream_error');
    expect(lastError(parts)?.message).toBe('the upstream sent a stream frame that is not JSON');
  });

  it('skips comments and empty data lines', async () => {
    const parts = await collect(readParts(bodyOf(bytes(': ping\n\n', 'data:\n\n', content('a'), finish))));
    expect(parts.map((part) => part.type)).toEqual(['text', 'finish']);
  });

  it('lets an error thrown by the body reach the caller, after the parts before it', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    async function* body() {
      yield Buffer.from(content('a'));
      throw reset;
    }
    const seen: StreamPart[] = [];
    await expect(
      (async () => {
        for await (const part of readParts(body())) seen.push(part);
      })(),
    ).rejects.toBe(reset);
    expect(seen).toEqual([{ type: 'text', text: 'a' }]);
  });

  it('closes the body when the caller stops early', async () => {
    const { body, seen } = trackedBody(bytes(content('a'), content('b'), finish));
    for await (const part of readParts(body)) {
      expect(part).toEqual({ type: 'text', text: 'a' });
      break;
    }
    expect(seen).toEqual({ pulled: 1, closed: true });
  });

  it('throws the reason of an already aborted signal without reading', async () => {
    const { body, seen } = trackedBody(bytes(content('a')));
    const reason = new Error('client went away');
    await expect(collect(readParts(body, { signal: AbortSignal.abort(reason) }))).rejects.toBe(reason);
    expect(seen.pulled).toBe(0);
  });

  it('stops waiting on a stalled body when the signal aborts', async () => {
    const controller = new AbortController();
    let closed = false;
    const stalled: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]() {
        let first = true;
        return {
          next() {
            if (first) {
              first = false;
              return Promise.resolve({ done: false, value: Buffer.from(content('a')) });
            }
            return new Promise<IteratorResult<Uint8Array>>(() => {}); // never answers
          },
          async return() {
            closed = true;
            return { done: true, value: undefined };
          },
        };
      },
    };
    const parts: StreamPart[] = [];
    const reading = (async () => {
      for await (const part of readParts(stalled, { signal: controller.signal })) {
        parts.push(part);
        controller.abort(new Error('gone'));
      }
    })();
    await expect(reading).rejects.toThrow('gone');
    expect(parts).toEqual([{ type: 'text', text: 'a' }]);
    expect(closed).toBe(true);
  });
});
