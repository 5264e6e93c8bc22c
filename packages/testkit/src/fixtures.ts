import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Wire } from './routes.js';

/**
 * Absolute path of the recorded provider traffic shipped with this package.
 * Resolved from this module's URL: `src/` and `dist/` both sit beside `fixtures/`.
 */
export const fixturesDir: string = fileURLToPath(new URL('../fixtures', import.meta.url));

const STREAM_SUFFIX = '.sse.txt';
const ERROR_SUFFIX = '.error.json';
/** Non-streamed answers (`anthropic-text.json`) and error bodies both end so. */
const BODY_SUFFIX = '.json';

/** HTTP statuses the error bodies were recorded with (fixtures/README.md). */
const ERROR_STATUSES: Readonly<Record<string, number>> = {
  'openai-invalid_api_key.error.json': 401,
  'openai-model_not_found.error.json': 404,
  'openai-unsupported_parameter.error.json': 400,
  'openai-empty_array.error.json': 400,
  'openai-insufficient_quota.error.json': 429,
  'openai-unsupported_country_region_territory.error.json': 403,
  'dashscope-invalid_parameter_error.error.json': 400,
  'dashscope-InvalidApiKey.error.json': 401,
  'volcengine-ark-AuthenticationError.error.json': 401,
  'gemini-openai-compat-INVALID_ARGUMENT.error.json': 400,
  'gemini-API_KEY_INVALID.error.json': 400,
  'gemini-RESOURCE_EXHAUSTED.error.json': 429,
  'anthropic-authentication_error.error.json': 401,
  'anthropic-invalid_request_error.error.json': 400,
  'anthropic-not_found_error.error.json': 404,
  'anthropic-rate_limit_error.error.json': 429,
  'anthropic-overloaded_error.error.json': 529,
  'openai-responses-invalid_api_key.error.json': 401,
  'openai-responses-model_not_found.error.json': 400,
  'openai-responses-invalid_json_schema.error.json': 400,
};

/** Only these bodies were recorded raw with a charset; the others came as (or were re-serialised under) plain `application/json`. */
const UTF8_CHARSET_BODIES: ReadonlySet<string> = new Set([
  'openai-invalid_api_key.error.json',
  'openai-model_not_found.error.json',
]);

const cache = new Map<string, Buffer>();

/** The wire a recording speaks, told by its file name (fixtures/README.md): `anthropic-*`, `openai-responses-*`, else chat. */
export function fixtureWire(name: string): Wire {
  if (name.startsWith('anthropic-')) return 'messages';
  if (name.startsWith('openai-responses-')) return 'responses';
  return 'chat';
}

function allFixtures(): string[] {
  return readdirSync(fixturesDir)
    .filter((file) => file.endsWith(STREAM_SUFFIX) || file.endsWith(BODY_SUFFIX))
    .sort();
}

/**
 * File names of the recordings of one wire (`*.sse.txt` streams, `*.json` answers, `*.error.json` error bodies),
 * sorted: by default the Chat Completions ones; `'all'` for every file.
 */
export function listFixtures(wire: Wire | 'all' = 'chat'): string[] {
  const files = allFixtures();
  return wire === 'all' ? files : files.filter((file) => fixtureWire(file) === wire);
}

/**
 * Finds a fixture's file name from its name with or without extension, or undefined. A bare name with both a stream
 * and a body (`anthropic-text`) is the stream, unless `preferBody` asks for the body.
 */
export function findFixture(name: string, preferBody = false): string | undefined {
  const files = allFixtures();
  const stream = `${name}${STREAM_SUFFIX}`;
  const bodies = [`${name}${ERROR_SUFFIX}`, `${name}${BODY_SUFFIX}`];
  const order = preferBody ? [name, ...bodies, stream] : [name, stream, ...bodies];
  return order.find((candidate) => files.includes(candidate));
}

/** Finds a fixture's file name (see {@link findFixture}), throwing with the list of fixtures when there is none. */
export function resolveFixture(name: string, preferBody = false): string {
  const file = findFixture(name, preferBody);
  if (file === undefined) {
    throw new Error(`testkit: no fixture named '${name}'. Known fixtures: ${allFixtures().join(', ')}`);
  }
  return file;
}

/** The exact bytes of a fixture. */
export function readFixtureBytes(name: string): Buffer {
  const file = resolveFixture(name);
  let bytes = cache.get(file);
  if (bytes === undefined) {
    bytes = readFileSync(join(fixturesDir, file));
    cache.set(file, bytes);
  }
  return bytes;
}

/** A fixture's text, as recorded. `name` may omit the extension. */
export function readFixture(name: string): string {
  return readFixtureBytes(name).toString('utf8');
}

/** Whether the fixture is a recorded stream (as opposed to an error body). */
export function isStreamFixture(name: string): boolean {
  return resolveFixture(name).endsWith(STREAM_SUFFIX);
}

/** The HTTP status a fixture was recorded with (200 for streams and answers), or undefined for an unknown name. */
export function fixtureStatus(name: string): number | undefined {
  const file = findFixture(name);
  if (file === undefined) return undefined;
  if (!file.endsWith(ERROR_SUFFIX)) return 200;
  return ERROR_STATUSES[file];
}

/** The Content-Type a fixture is served with. */
export function fixtureContentType(name: string): string {
  const file = resolveFixture(name);
  if (file.endsWith(STREAM_SUFFIX)) return 'text/event-stream; charset=utf-8';
  return UTF8_CHARSET_BODIES.has(file) ? 'application/json; charset=utf-8' : 'application/json';
}

/** Splits a recorded stream into its frames, each keeping its exact bytes including the blank line. */
export function splitFrames(bytes: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let start = 0;
  while (start < bytes.length) {
    const end = bytes.indexOf('\n\n', start);
    const stop = end === -1 ? bytes.length : end + 2;
    frames.push(bytes.subarray(start, stop));
    start = stop;
  }
  return frames;
}
