/**
 * `/api/chat` as the platform's own clients read it, each written the way that client reads, against both adapters:
 * a Node client that buffers and splits on blank lines, a Python client (real python3, standard library only) that
 * iterates lines, the web client's rules, and the evaluation client. Each gets a run that ends with `end` and the echo
 * text, and the missing-key, bad-key and cut-stream cases.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { behaviors } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, startHarness } from './harness.js';

const run = promisify(execFile);

// ---------- the four clients, as they read ----------

interface NodeClientRun {
  status: number;
  printed: string;
  sawEnd: boolean;
}

/** The Node client: buffers the body, splits on a blank line, skips blocks without `data: `, prints `reply`, stops at `end`. */
async function nodeClient(url: string, body: unknown, headers: Record<string, string>): Promise<NodeClientRun> {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  let printed = '';
  let sawEnd = false;
  for (const block of text.split('\n\n')) {
    if (!block.startsWith('data: ')) continue;
    const event = JSON.parse(block.slice('data: '.length)) as { type: string; content: unknown };
    if (event.type === 'reply') printed += String(event.content);
    if (event.type === 'end') {
      sawEnd = true;
      break;
    }
  }
  return { status: response.status, printed, sawEnd };
}

/** The Python client: iterates lines, skips any without `data: `, reads evt["type"] and evt["content"] of every event. */
const PYTHON_CLIENT = String.raw`
import json, os, sys, urllib.error, urllib.request

request = urllib.request.Request(os.environ["CHAT_URL"], data=os.environ["CHAT_BODY"].encode("utf-8"), headers=json.loads(os.environ["CHAT_HEADERS"]), method="POST")
try:
    response = urllib.request.urlopen(request, timeout=10)
except urllib.error.HTTPError as error:
    body = json.load(error)
    print("HTTP %d %s: %s" % (error.code, body["error"]["code"], body["message"]))
    sys.exit(2)
reply = ""
for raw in response:
    line = raw.decode("utf-8").rstrip("\r\n")
    if not line.startswith("data: "):
        continue
    evt = json.loads(line[len("data: "):])
    kind, content = evt["type"], evt["content"]
    if kind == "reply":
        reply += content
    elif kind == "error":
        print("ERROR %s: %s" % (evt["code"], content))
    elif kind == "end":
        print("END %s" % evt["finish_reason"])
        break
print("REPLY %s" % reply)
`;

const pythonPresent = await run('python3', ['--version']).then(
  () => true,
  () => false,
);

async function pythonClient(url: string, body: unknown, headers: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const env = { ...process.env, CHAT_URL: url, CHAT_BODY: JSON.stringify(body), CHAT_HEADERS: JSON.stringify({ 'Content-Type': 'application/json', ...headers }) };
  try {
    const { stdout, stderr } = await run('python3', ['-c', PYTHON_CLIENT], { env, timeout: 15_000 });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

interface WebClientView {
  answer: string;
  thinking: string;
  cost?: { model: unknown; input_tokens: unknown; output_tokens: unknown; total_tokens: unknown; total_cost: unknown };
  /** What the page shows as an error, if anything. */
  shownError?: string;
  /** An event with a truthy `error` key: the web client calls that a backend failure. */
  backendFailure: boolean;
  ended: boolean;
}

/** The web client's rules: truthy `error` key = backend failure; unknown types dropped; `reply` and `thinking` joined; cost from `content`; non-2xx shows `message` or `error`. */
async function webClient(url: string, body: unknown, headers: Record<string, string>): Promise<WebClientView> {
  const view: WebClientView = { answer: '', thinking: '', backendFailure: false, ended: false };
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (!response.ok) {
    const json = (await response.json()) as { message?: string; error?: unknown };
    view.shownError = json.message || String(json.error);
    return view;
  }
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('data:')) continue;
      const event = JSON.parse(line.slice(5).trim()) as Record<string, any>;
      if (event.error) {
        view.backendFailure = true;
        view.shownError = String(event.error);
        continue;
      }
      switch (event.type) {
        case 'reply':
          view.answer += event.content;
          break;
        case 'thinking':
          view.thinking += event.content;
          break;
        case 'costStatistics': {
          const { model, input_tokens, output_tokens, total_tokens, total_cost } = event.content;
          view.cost = { model, input_tokens, output_tokens, total_tokens, total_cost };
          break;
        }
        case 'error':
          view.shownError = event.content;
          break;
        case 'end':
          view.ended = true;
          break;
        default:
          // Unknown types are dropped.
          break;
      }
    }
  }
  return view;
}

/** The evaluation client: sends its session fields, keeps the reply text, raises when an `error` arrives with no reply. */
async function evaluationClient(url: string, question: string, headers: Record<string, string>): Promise<string> {
  const body = {
    question,
    session_id: `session-${randomUUID()}`,
    trace_id: randomUUID(),
    language: 'en',
    timezone: 'Asia/Shanghai',
    file_list: [],
    agent: 'App',
  };
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`chat failed (${response.status}): ${((await response.json()) as { message: string }).message}`);
  let reply = '';
  for (const line of (await response.text()).split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const event = JSON.parse(line.slice(6)) as { type: string; content: string };
    if (event.type === 'reply') reply += event.content;
    if (event.type === 'error' && reply === '') throw new Error(`chat error: ${event.content}`);
    if (event.type === 'end') break;
  }
  return reply;
}

// ---------- the suite ----------

describe.each(ADAPTERS)('the platform clients against %s', (adapter) => {
  let h: Harness;
  let chatUrl: string;
  let withKey: Record<string, string>;
  const noKey = { 'X-LLM-Provider': 'openai' };

  beforeAll(async () => {
    h = await startHarness(adapter);
    chatUrl = `${h.url}/api/chat`;
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    withKey = { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': callerKey() };
  });
  const cut = () => h.upstream.enqueue(behaviors.cutMidStream(2, ['one', ' two', ' three']));
  const badKey = () => h.upstream.enqueue(behaviors.error('openai', 'invalid_api_key'));

  describe('the Node client (buffer, split on blank lines, `data: ` prefix)', () => {
    const body = { question: 'hi', agent: 'App', provider: 'general' };

    it('prints the echo and stops at end', async () => {
      expect(await nodeClient(chatUrl, body, withKey)).toEqual({ status: 200, printed: 'echo: hi', sawEnd: true });
    });
    it('gets a 400 with no key: nothing printed, nothing sent upstream', async () => {
      expect(await nodeClient(chatUrl, body, noKey)).toEqual({ status: 400, printed: '', sawEnd: false });
      expect(h.upstream.requests).toHaveLength(0);
    });
    it('prints nothing for a bad key and still stops at end', async () => {
      badKey();
      expect(await nodeClient(chatUrl, body, withKey)).toEqual({ status: 200, printed: '', sawEnd: true });
    });
    it('prints the text so far of a cut stream and stops at end', async () => {
      cut();
      expect(await nodeClient(chatUrl, body, withKey)).toEqual({ status: 200, printed: 'one two', sawEnd: true });
    });
  });

  describe.skipIf(!pythonPresent && !process.env.CI)('the Python client (urllib, line by line, evt["type"] and evt["content"])', () => {
    const body = { question: 'hi', agent: 'App', provider: 'general' };

    it('prints the echo and stops at end', async () => {
      const result = await pythonClient(chatUrl, body, withKey);
      expect(result.stderr).toBe('');
      expect(result).toMatchObject({ exitCode: 0, stdout: 'END stop\nREPLY echo: hi\n' });
    });
    it('shows the message of the 400 for a missing key', async () => {
      const result = await pythonClient(chatUrl, body, noKey);
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toMatch(/^HTTP 400 missing_api_key: No API key for provider "openai"\.\n$/);
    });
    it('prints the error of a bad key, then the end', async () => {
      badKey();
      const result = await pythonClient(chatUrl, body, withKey);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^ERROR invalid_api_key: .+\nEND error\nREPLY \n$/);
    });
    it('prints the text so far of a cut stream, the error and the end', async () => {
      cut();
      const result = await pythonClient(chatUrl, body, withKey);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^ERROR upstream_error: .+\nEND error\nREPLY one two\n$/);
    });
  });

  describe("the web client's rules", () => {
    const body = { question: 'hi', agent: 'App', provider: 'general' };

    it('shows the answer and the cost, sees no backend failure', async () => {
      const view = await webClient(chatUrl, body, withKey);
      expect(view).toMatchObject({ answer: 'echo: hi', thinking: '', backendFailure: false, ended: true });
      expect(view.shownError).toBeUndefined();
      expect(view.cost).toEqual({ model: 'gpt-5', input_tokens: expect.any(Number), output_tokens: 2, total_tokens: expect.any(Number), total_cost: expect.any(Number) });
      const cost = view.cost as { input_tokens: number; output_tokens: number; total_tokens: number; total_cost: number };
      expect(cost.total_tokens).toBe(cost.input_tokens + cost.output_tokens);
      expect(cost.total_cost).toBeGreaterThan(0);
    });
    it('joins thinking apart from the reply', async () => {
      h.upstream.enqueue(behaviors.stream(['The ', 'answer.'], { reasoning: ['Let me ', 'think.'] }));
      const view = await webClient(chatUrl, body, withKey);
      expect(view).toMatchObject({ answer: 'The answer.', thinking: 'Let me think.', backendFailure: false, ended: true });
    });
    it('shows `message` of the 400 for a missing key', async () => {
      const view = await webClient(chatUrl, body, noKey);
      expect(view.shownError).toBe('No API key for provider "openai".');
      expect(view.backendFailure).toBe(false);
    });
    it('shows the error event of a bad key', async () => {
      badKey();
      const view = await webClient(chatUrl, body, withKey);
      expect(view).toMatchObject({ answer: '', backendFailure: false, ended: true });
      expect(view.shownError).toMatch(/api key/i);
    });
    it('keeps the text so far of a cut stream and shows its error', async () => {
      cut();
      const view = await webClient(chatUrl, body, withKey);
      expect(view).toMatchObject({ answer: 'one two', backendFailure: false, ended: true });
      expect(view.shownError).toBeTruthy();
    });
  });

  describe('the evaluation client (session fields, raises on an error with no reply)', () => {
    it('keeps the echo; its extra fields are accepted and go nowhere upstream', async () => {
      expect(await evaluationClient(chatUrl, 'evaluate me', withKey)).toBe('echo: evaluate me');
      const received = h.upstream.lastRequest();
      const sent = received?.json as { messages: Array<{ role: string; content: string }> };
      expect(sent.messages[0]).toEqual({ role: 'system', content: 'You are a helpful assistant.\nAnswer in en.' });
      for (const field of ['session_id', 'trace_id', 'timezone', 'file_list', 'Asia/Shanghai']) expect(received?.body).not.toContain(field);
    });
    it('raises with the message for a missing key', async () => {
      await expect(evaluationClient(chatUrl, 'hi', noKey)).rejects.toThrow('chat failed (400): No API key for provider "openai".');
    });
    it('raises for a bad key (an error and no reply)', async () => {
      badKey();
      await expect(evaluationClient(chatUrl, 'hi', withKey)).rejects.toThrow(/^chat error: .*api key/i);
    });
    it('keeps the text so far of a cut stream (an error after a reply)', async () => {
      cut();
      expect(await evaluationClient(chatUrl, 'hi', withKey)).toBe('one two');
    });
  });
});
