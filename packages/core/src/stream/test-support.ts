/** Helpers for the stream tests (not exported from the package): fixtures, seeded splits, bodies. */
import { listFixtures, readFixture } from '@switchyard/testkit';

/** Names (without `.sse.txt`) of every recorded stream in the testkit. */
export function streamFixtureNames(): string[] {
  return listFixtures()
    .filter((file) => file.endsWith('.sse.txt'))
    .map((file) => file.slice(0, -'.sse.txt'.length));
}

/** A recorded stream's exact bytes. */
export function fixtureBytes(name: string): Buffer {
  return Buffer.from(readFixture(name), 'utf8');
}

/** A small deterministic PRNG (mulberry32), so random splits are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts bytes into pieces of 1 to `maxPiece` bytes, at random places. */
export function splitRandomly(bytes: Buffer, random: () => number, maxPiece = 64): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * maxPiece);
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

/** Rewrites a stream's `\n` line ends as `\r\n` or `\r`. */
export function withLineEnds(bytes: Buffer, lineEnd: '\r\n' | '\r'): Buffer {
  return Buffer.from(bytes.toString('utf8').replaceAll('\n', lineEnd), 'utf8');
}

/** An async body over the given chunks. */
export async function* bodyOf(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
