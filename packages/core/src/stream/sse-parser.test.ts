import { describe, expect, it } from 'vitest';
import { createSseParser, parseSse, type SseEvent } from './sse-parser.js';
import { bodyOf, collect, fixtureBytes, seededRandom, splitRandomly, streamFixtureNames, withLineEnds } from './test-support.js';

function parseChunks(chunks: Iterable<Uint8Array | string>): SseEvent[] {
  const parser = createSseParser();
  const events: SseEvent[] = [];
  for (const chunk of chunks) events.push(...parser.push(chunk));
  events.push(...parser.end());
  return events;
}

/** What the recordings hold: `data: <json>\n\n` frames, read without any SSE machinery. */
function naiveFrames(bytes: Buffer): SseEvent[] {
  return bytes
    .toString('utf8')
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => {
      expect(frame.startsWith('data: ')).toBe(true);
      return { data: frame.slice('data: '.length) };
    });
}

const cases: Array<{ name: string; input: string; events: SseEvent[] }> = [
  { name: '\\n line ends', input: 'data: a\n\ndata: b\n\n', events: [{ data: 'a' }, { data: 'b' }] },
  { name: '\\r\\n line ends', input: 'data: a\r\n\r\ndata: b\r\n\r\n', events: [{ data: 'a' }, { data: 'b' }] },
  { name: '\\r line ends', input: 'data: a\r\rdata: b\r\r', events: [{ data: 'a' }, { data: 'b' }] },
  { name: 'mixed line ends', input: 'data: a\n\r\ndata: b\r\rdata: c\r\n\n', events: [{ data: 'a' }, { data: 'b' }, { data: 'c' }] },
  { name: 'a BOM at the start', input: '\uFEFFdata: a\n\n', events: [{ data: 'a' }] },
  {
    name: 'only the first BOM is stripped (a later one is part of a field name)',
    input: '\uFEFFdata: a\n\n\uFEFFdata: b\n\n',
    events: [{ data: 'a' }],
  },
  { name: 'comment lines', input: ': ping\n\ndata: a\n: inside\n\n:\n\n', events: [{ data: 'a' }] },
  { name: 'multi-line data joined with \\n', input: 'data: a\ndata:b\ndata:  c\n\n', events: [{ data: 'a\nb\n c' }] },
  { name: 'multi-line data with \\r\\n line ends', input: 'data: a\r\ndata: b\r\n\r\n', events: [{ data: 'a\nb' }] },
  { name: 'one optional space after the colon', input: 'data:a\n\ndata:  two\n\n', events: [{ data: 'a' }, { data: ' two' }] },
  { name: 'colons in the value', input: 'data: {"a":"b:c"}\n\n', events: [{ data: '{"a":"b:c"}' }] },
  { name: 'a field with no colon', input: 'data\n\n', events: [{ data: '' }] },
  { name: 'an empty data line is an event with empty data', input: 'data:\n\n', events: [{ data: '' }] },
  { name: 'empty data lines keep their newlines', input: 'data:\ndata:\n\n', events: [{ data: '\n' }] },
  {
    name: 'event and id; the id persists, the event type does not',
    input: 'event: update\nid: 7\ndata: x\n\ndata: y\n\nid\ndata: z\n\n',
    events: [{ data: 'x', event: 'update', id: '7' }, { data: 'y', id: '7' }, { data: 'z' }],
  },
  { name: 'an id with NUL is ignored', input: 'id: 1\n\nid: a\0b\ndata: x\n\n', events: [{ data: 'x', id: '1' }] },
  { name: 'an event with no data is not dispatched', input: 'event: a\n\ndata: b\n\n', events: [{ data: 'b' }] },
  { name: 'retry and unknown fields are ignored', input: 'retry: 1000\nfoo: bar\nDATA: no\ndata: x\n\n', events: [{ data: 'x' }] },
  { name: 'blank lines between frames', input: '\n\n\ndata: a\n\n\n\n', events: [{ data: 'a' }] },
  { name: 'multi-byte characters', input: 'data: Knicks—🎯🧡 中文\n\n', events: [{ data: 'Knicks—🎯🧡 中文' }] },
  { name: 'a last event without its blank line', input: 'data: a\n\ndata: [DONE]\n', events: [{ data: 'a' }, { data: '[DONE]' }] },
  { name: 'a last event ending in \\r', input: 'data: a\r', events: [{ data: 'a' }] },
  { name: 'a cut-off last line is dropped with its event', input: 'data: a\n\ndata: b\ndata: {"cho', events: [{ data: 'a' }] },
];

describe('createSseParser', () => {
  it.each(cases)('$name: in one chunk', ({ input, events }) => {
    expect(parseChunks([input])).toEqual(events);
  });

  it.each(cases)('$name: split in two at every character', ({ input, events }) => {
    for (let at = 0; at <= input.length; at++) {
      expect(parseChunks([input.slice(0, at), input.slice(at)])).toEqual(events);
    }
  });

  it.each(cases)('$name: as bytes, one byte at a time', ({ input, events }) => {
    const bytes = Buffer.from(input, 'utf8');
    expect(parseChunks(Array.from(bytes, (byte) => Uint8Array.of(byte)))).toEqual(events);
  });

  it('does not join a \\r at the end of one chunk with a \\n that is the next line', () => {
    // `\r` then `\n` across chunks is one line end; a further `\n` is a blank line.
    expect(parseChunks(['data: a\r', '\n', '\n', 'data: b\n\n'])).toEqual([{ data: 'a' }, { data: 'b' }]);
    expect(parseChunks(['data: a\r', '\r', '\n', 'data: b\n\n'])).toEqual([{ data: 'a' }, { data: 'b' }]);
    expect(parseChunks(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual([{ data: 'a\nb' }]);
  });

  it('decodes a character split across pushes, and keeps bytes and strings in order', () => {
    const bytes = Buffer.from('data: 🎯\n\n', 'utf8');
    expect(parseChunks([bytes.subarray(0, 8), bytes.subarray(8)])).toEqual([{ data: '🎯' }]);
    // A string pushed while the decoder holds the start of a character: the bytes come first (as U+FFFD).
    expect(parseChunks([bytes.subarray(0, 8), 'x\n\n'])).toEqual([{ data: '\uFFFDx' }]);
  });

  it('returns each event from the push that completes it', () => {
    const parser = createSseParser();
    expect(parser.push('data: a\n')).toEqual([]);
    expect(parser.push('\ndata: b')).toEqual([{ data: 'a' }]);
    expect(parser.push('\n\n')).toEqual([{ data: 'b' }]);
    expect(parser.push(new Uint8Array())).toEqual([]);
    expect(parser.end()).toEqual([]);
  });
});

describe('createSseParser on the recorded streams', () => {
  const names = streamFixtureNames();

  it.each(names)('%s: in one chunk, as the frames were recorded', (name) => {
    const bytes = fixtureBytes(name);
    expect(parseChunks([bytes])).toEqual(naiveFrames(bytes));
  });

  it.each(names)('%s: 50 random splits, and with \\r\\n and \\r line ends', (name) => {
    const bytes = fixtureBytes(name);
    const expected = naiveFrames(bytes);
    const random = seededRandom(0x5eed + name.length);
    for (const variant of [bytes, withLineEnds(bytes, '\r\n'), withLineEnds(bytes, '\r')]) {
      for (let round = 0; round < 50; round++) {
        expect(parseChunks(splitRandomly(variant, random, 1 + round * 4))).toEqual(expected);
      }
    }
  });

  // Both hold multi-byte characters (an em dash, emoji), so some cuts fall inside one.
  it.each(['azure-foundry-deepseek-v4-pro-reasoning', 'azure-openai-gpt-5.2-text'])(
    '%s: split in two at every byte offset',
    (name) => {
      const bytes = fixtureBytes(name);
      expect(bytes.some((byte) => byte >= 0x80)).toBe(true);
      const expected = naiveFrames(bytes);
      for (let at = 0; at <= bytes.length; at++) {
        expect(parseChunks([bytes.subarray(0, at), bytes.subarray(at)])).toEqual(expected);
      }
    },
  );

  it('azure-foundry-deepseek-v4-pro-reasoning: one byte at a time, with a BOM', () => {
    const bytes = fixtureBytes('azure-foundry-deepseek-v4-pro-reasoning');
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    expect(parseChunks(Array.from(withBom, (byte) => Uint8Array.of(byte)))).toEqual(naiveFrames(bytes));
  });
});

describe('parseSse', () => {
  it('yields the events of an async body as they complete', async () => {
    const events = await collect(parseSse(bodyOf([Buffer.from('data: a\n\nda'), Buffer.from('ta: b\n\ndata: c\n')])));
    expect(events).toEqual([{ data: 'a' }, { data: 'b' }, { data: 'c' }]);
  });

  it('takes string chunks', async () => {
    async function* strings() {
      yield 'event: x\ndata: 1\n';
      yield '\n';
    }
    expect(await collect(parseSse(strings()))).toEqual([{ data: '1', event: 'x' }]);
  });
});
