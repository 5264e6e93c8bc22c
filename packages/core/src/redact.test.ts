import { readFixture } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets, redactUrl } from './redact.js';

// Assembled at run time so no key-shaped literal sits in the source.
const OPENAI_KEY = ['sk', 'proj', 'Abc123def456ghi789jkl012mno345pqr678stu901vwx'].join('-');
const ANTHROPIC_KEY = 'sk-ant-api03-Zx9_Yw8-Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe';
const DASHSCOPE_KEY = ['sk', '0123456789abcdef'.repeat(2)].join('-');
const GOOGLE_KEY = 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q';
const ARK_KEY = '3f2a9c1e-7b4d-4e8a-9c6f-1d2e3f4a5b6c';

describe('redactSecrets: key-shaped tokens', () => {
  const cases: { name: string; input: string; expected: string }[] = [
    { name: 'an OpenAI project key', input: `key ${OPENAI_KEY} here`, expected: `key ${REDACTED} here` },
    { name: 'an Anthropic key', input: `using ${ANTHROPIC_KEY}`, expected: `using ${REDACTED}` },
    { name: 'a DashScope/DeepSeek sk- key', input: `${DASHSCOPE_KEY} failed`, expected: `${REDACTED} failed` },
    {
      name: 'a partly masked sk- key, keeping the sentence period',
      input: 'Incorrect API key provided: sk-abc***...xyz. You can find your API key at https://platform.openai.com/account/api-keys.',
      expected: `Incorrect API key provided: ${REDACTED}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    },
    {
      name: 'a partly masked sk- key outside the "provided" sentence',
      input: 'the key sk-proj-********************CWAA was refused',
      expected: `the key ${REDACTED} was refused`,
    },
    {
      name: 'a masked non-sk key echoed after "API key provided:"',
      input: 'Incorrect API key provided: bad-key-**********test. You can find it.',
      expected: `Incorrect API key provided: ${REDACTED}. You can find it.`,
    },
    {
      name: 'any token after "API key provided:", masked or not',
      input: 'Incorrect API key provided: my.custom.key.value',
      expected: `Incorrect API key provided: ${REDACTED}`,
    },
    { name: 'a masked token elsewhere', input: 'got bad-key-**********test here', expected: `got ${REDACTED} here` },
    { name: 'a Google API key', input: `Consumer 'api_key:${GOOGLE_KEY}' has been suspended.`, expected: `Consumer 'api_key:${REDACTED}' has been suspended.` },
    { name: 'a bare Google API key', input: `key=${GOOGLE_KEY}`, expected: `key=${REDACTED}` },
    { name: 'a Bearer token', input: 'Authorization: Bearer abc.DEF-123_xyz~+/=', expected: `Authorization: Bearer ${REDACTED}` },
    { name: 'a lowercase bearer token', input: 'authorization: bearer 0123456789', expected: `authorization: bearer ${REDACTED}` },
    { name: 'an Azure api-key header', input: 'api-key: 0123456789abcdef0123456789abcdef', expected: `api-key: ${REDACTED}` },
    { name: 'the caller key header', input: 'x-llm-api-key: my-secret-value', expected: `x-llm-api-key: ${REDACTED}` },
    { name: 'a JSON api_key field', input: '{"api_key": "hunter2hunter2", "model": "x"}', expected: `{"api_key": "${REDACTED}", "model": "x"}` },
    { name: 'apikey=', input: 'apikey=abcdef&x=1', expected: `apikey=${REDACTED}&x=1` },
    {
      name: 'llm_api_key in a logged upgrade URL',
      input: 'GET /api/chat?llm_provider=openai&llm_api_key=plain-secret-1&x=1 101',
      expected: `GET /api/chat?llm_provider=openai&llm_api_key=${REDACTED}&x=1 101`,
    },
    { name: 'llm_api_key first in the query', input: 'ws://host/chat?llm_api_key=abcd', expected: `ws://host/chat?llm_api_key=${REDACTED}` },
    { name: 'a userinfo password', input: 'relay https://bob:pa55word@relay.example.com/v1 down', expected: `relay https://bob:${REDACTED}@relay.example.com/v1 down` },
  ];

  it.each(cases)('redacts $name', ({ input, expected }) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it.each(cases)('is idempotent on $name', ({ input }) => {
    const once = redactSecrets(input);
    expect(redactSecrets(once)).toBe(once);
  });
});

describe('redactSecrets: leaves ordinary text alone', () => {
  const untouched = [
    'Invalid API-key provided.',
    'The API key format is incorrect. Request id: 0217757585294121fd265a4e2c1482f666194d4df1ffdb365aef3',
    'You can find your API key at https://platform.openai.com/account/api-keys.',
    'request 01415ff3-53f4-989d-83c0-3eb61fa1418e failed',
    'a task-force on risk-based ask-me-anything',
    'sk-short',
    'Unsupported parameter: \'max_tokens\' is not supported with this model.',
    '**bold** and ***emphasis***',
    'https://api.openai.com/v1/chat/completions',
    'http://127.0.0.1:8080/path@x',
    '',
  ];

  it.each(untouched)('keeps %j', (input) => {
    expect(redactSecrets(input)).toBe(input);
  });

  it('keeps the recorded DashScope and Gemini messages', () => {
    for (const name of ['dashscope-invalid_parameter_error', 'gemini-RESOURCE_EXHAUSTED', 'openai-unsupported_parameter']) {
      const body = readFixture(name);
      expect(redactSecrets(body), name).toBe(body);
    }
  });
});

describe('redactSecrets: given secrets', () => {
  it('replaces every occurrence of each secret, whatever its shape', () => {
    const text = `key ${ARK_KEY} sent; again ${ARK_KEY}.`;
    expect(redactSecrets(text, [ARK_KEY])).toBe(`key ${REDACTED} sent; again ${REDACTED}.`);
  });

  it('ignores undefined, empty and too-short secrets', () => {
    expect(redactSecrets('abc and ab and x', [undefined, '', 'ab', 'abc'])).toBe('abc and ab and x');
    expect(redactSecrets('abcd and ab', ['abcd'])).toBe(`${REDACTED} and ab`);
  });

  it('replaces the longer of two overlapping secrets whole', () => {
    expect(redactSecrets('token prefix-1234-suffix', ['prefix-1234', 'prefix-1234-suffix'])).toBe(`token ${REDACTED}`);
  });

  it('redacts secrets and key shapes together', () => {
    expect(redactSecrets(`${ARK_KEY} / ${OPENAI_KEY}`, [ARK_KEY])).toBe(`${REDACTED} / ${REDACTED}`);
  });

  it('redacts the key echoed in the recorded OpenAI 401 body', () => {
    const body = readFixture('openai-invalid_api_key');
    expect(body).toContain('bad-key-**********test');
    const redacted = redactSecrets(body);
    expect(redacted).not.toContain('bad-key');
    expect(redacted).not.toContain('test.');
    expect(redacted).toContain(`Incorrect API key provided: ${REDACTED}. You can find your API key`);
    // Still valid JSON: the redaction stays inside the string.
    expect(JSON.parse(redacted).error.code).toBe('invalid_api_key');
  });

  it('stays linear on long lines that almost match', { timeout: 20_000 }, () => {
    // Quadratic backtracking on 200k characters would take minutes and time this test out.
    const long = `key ${'a'.repeat(200_000)} ${'b-'.repeat(50_000)}**** sk-${'c'.repeat(100_000)}. //${'d'.repeat(100_000)}:`;
    const out = redactSecrets(long);
    expect(out.startsWith('key ')).toBe(true);
    expect(out).toContain(REDACTED);
  });
});

describe('redactUrl', () => {
  const cases: { input: string; expected: string }[] = [
    { input: 'wss://app.example.com/api/chat?llm_provider=openai&llm_api_key=sk-abc123&llm_base_url=x', expected: `wss://app.example.com/api/chat?llm_provider=openai&llm_api_key=${REDACTED}&llm_base_url=x` },
    { input: '/api/chat?llm_api_key=plain#frag', expected: `/api/chat?llm_api_key=${REDACTED}#frag` },
    { input: '/api/chat?llm_api_key=a%2Fb%3D&x=1', expected: `/api/chat?llm_api_key=${REDACTED}&x=1` },
    { input: '/api/chat?LLM_API_KEY=abc', expected: `/api/chat?LLM_API_KEY=${REDACTED}` },
    { input: `https://generativelanguage.googleapis.com/v1beta/models?key=${GOOGLE_KEY}`, expected: `https://generativelanguage.googleapis.com/v1beta/models?key=${REDACTED}` },
    { input: 'https://user:secret@relay.example.com/v1?x=1', expected: `https://user:${REDACTED}@relay.example.com/v1?x=1` },
    { input: 'https://user@relay.example.com/v1', expected: 'https://user@relay.example.com/v1' },
    { input: 'https://api.openai.com/v1/chat/completions', expected: 'https://api.openai.com/v1/chat/completions' },
    { input: '/api/chat?llm_provider=openai&monkey=1', expected: '/api/chat?llm_provider=openai&monkey=1' },
    { input: '/api/chat?llm_api_key=', expected: `/api/chat?llm_api_key=${REDACTED}` },
    // The WebSocket chat takes the app token in the query too.
    { input: '/api/chat?token=app-secret-1&llm_provider=openai', expected: `/api/chat?token=${REDACTED}&llm_provider=openai` },
    { input: '/api/chat?mytoken=1&tokens=2', expected: '/api/chat?mytoken=1&tokens=2' },
  ];

  it.each(cases)('$input', ({ input, expected }) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('redactLogEntry', () => {
  it('masks the given secrets and key-shaped strings in every string field, nested ones included, without touching the rest', async () => {
    const { redactLogEntry } = await import('./redact.js');
    const secret = ['caller', 'secret', 'value', '0123456789'].join('-');
    const entry = { requestId: 'r1', status: 400, model: secret, nested: { path: `/v1?llm_api_key=${secret}`, list: [OPENAI_KEY] }, clientAborted: true };
    const out = redactLogEntry(entry, [secret]);
    expect(JSON.stringify(out)).not.toContain(secret);
    expect(JSON.stringify(out)).not.toContain(OPENAI_KEY);
    expect(out).toMatchObject({ requestId: 'r1', status: 400, model: REDACTED, clientAborted: true });
    expect(entry.model).toBe(secret);
  });
});

describe('redactLogEntry: errors', () => {
  it('keeps an error readable as a plain object, with the secret masked', async () => {
    const { redactLogEntry } = await import('./redact.js');
    const secret = ['caller', 'secret', 'value', '0123456789'].join('-');
    const out = redactLogEntry({ err: Object.assign(new Error(`call failed for ${secret}`), { code: 'ECONNRESET' }) }, [secret]) as unknown as { err: Record<string, unknown> };
    expect(out.err).toMatchObject({ type: 'Error', message: `call failed for ${REDACTED}`, code: 'ECONNRESET' });
    expect(JSON.stringify(out)).not.toContain(secret);
  });
});
