/**
 * Claude Code through Switchyard, offline: the real `claude -p` (the `@anthropic-ai/claude-code` CLI, a child process)
 * pointed at the demo's Express and Koa apps with `ANTHROPIC_BASE_URL`, its credentials and `X-LLM-*` headers in
 * `ANTHROPIC_CUSTOM_HEADERS`, answered by chat-only upstreams through translation. The CLI runs with every switch that
 * turns its own traffic off, and with a preload that lets it reach loopback only (offline-guard.cjs); what it tried
 * to reach beyond is checked too.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { behaviors, type RecordedRequest, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { createDemo, type Demo } from '../src/demo.js';

const APPS = ['express', 'koa'] as const;
type AppName = (typeof APPS)[number];

const require = createRequire(import.meta.url);
const CLAUDE_PACKAGE = require.resolve('@anthropic-ai/claude-code/package.json');
const CLAUDE_CLI = join(dirname(CLAUDE_PACKAGE), (JSON.parse(readFileSync(CLAUDE_PACKAGE, 'utf8')) as { bin: { claude: string } }).bin.claude);
const OFFLINE_GUARD = fileURLToPath(new URL('./offline-guard.cjs', import.meta.url));
/** One `claude -p` takes a second or two here (a few on a busy machine); past this it is stuck, and is killed. */
const RUN_LIMIT_MS = 20_000;
/** A test waits for its run to end, killed or not. */
const TEST_TIMEOUT_MS = RUN_LIMIT_MS + 10_000;
/** Runs still going, killed when the suite ends however it ends. */
const running = new Set<ReturnType<typeof spawn>>();

/** Every switch Claude Code has for its own traffic (updates, telemetry, error reports, surveys, installs), off. */
const QUIET = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_AUTOUPDATER: '1',
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
  DISABLE_BUG_COMMAND: '1',
  DISABLE_INSTALLATION_CHECKS: '1',
  CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1',
  CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: '1',
  CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL: '1',
  NO_COLOR: '1',
};

interface ClaudeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** What the CLI tried to reach beyond loopback (refused by the guard): `lookup host` or `connect host:port`. */
  outbound: string[];
}

/** What a failed assertion prints: the whole run, Claude Code's stderr included. */
function explain(run: ClaudeRun): string {
  return [`claude exited with ${run.code ?? run.signal}`, `stdout:\n${run.stdout}`, `stderr:\n${run.stderr}`, `outbound attempts: ${run.outbound.join(', ') || 'none'}`].join('\n');
}

/**
 * Runs `claude -p <prompt>` in `cwd` with a fresh HOME and config directory, the quiet switches, the offline guard
 * and `env` on top: nothing of the developer's own environment (keys, proxies, settings) reaches it but PATH.
 */
function runClaude(prompt: string, cwd: string, env: Record<string, string>): Promise<ClaudeRun> {
  const home = join(cwd, '.home');
  const outboundLog = join(cwd, '.outbound.log');
  writeFileSync(outboundLog, '');
  const child = spawn(process.execPath, [CLAUDE_CLI, '-p', prompt], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      CLAUDE_CONFIG_DIR: join(home, '.claude'),
      ...QUIET,
      NODE_OPTIONS: `--require ${OFFLINE_GUARD}`,
      SWITCHYARD_OFFLINE_LOG: outboundLog,
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  running.add(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const outbound = readFileSync(outboundLog, 'utf8').split('\n').filter(Boolean);
      resolve({ code, signal, stdout, stderr, outbound });
    });
  });
}

/** Collects the demo's log lines. */
class LogCollector extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter(Boolean));
    callback();
  }
}

interface ChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  reasoning_content?: string;
}
interface ChatRequest {
  model: string;
  stream?: boolean;
  messages: ChatMessage[];
  tools?: Array<{ type: string; function: { name: string } }>;
  enable_thinking?: boolean;
}

function chatRequests(upstream: TestUpstream, from: number): Array<RecordedRequest & { json: ChatRequest }> {
  return upstream.requests.slice(from).filter((request): request is RecordedRequest & { json: ChatRequest } => request.path.endsWith('/chat/completions'));
}

/** The text of a chat message's content (a string, or text parts). */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: { type?: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : '')).join('');
}

describe('Claude Code (`claude -p`) through the demo, offline', { timeout: TEST_TIMEOUT_MS }, () => {
  const appToken = `app-${randomUUID()}`;
  let relay: TestUpstream;
  let demo: Demo;
  let logs: LogCollector;
  let work: string;
  const servers: Server[] = [];
  const urls = {} as Record<AppName, string>;

  async function listen(server: Server): Promise<string> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    // The README's setup: the cn cluster, an app token; DashScope reached through an operator relay (here a chat-only
    // testkit upstream), no operator key, so the embedded sandbox is up as well.
    relay = await startTestUpstream();
    logs = new LogCollector();
    // The same upstream stands in for Anthropic's API as well (it speaks every wire), for the passthrough case.
    demo = await createDemo({ env: { LLM_CLUSTER: 'cn', DASHSCOPE_BASE_URL: relay.url, ANTHROPIC_BASE_URL: relay.url, SWITCHYARD_APP_TOKENS: appToken }, logDestination: logs });
    urls.express = await listen(createServer(demo.expressApp));
    urls.koa = await listen(createServer(demo.koaApp.callback()));
    work = mkdtempSync(join(tmpdir(), 'switchyard-claude-code-'));
  });

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await demo?.close();
    await relay?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe.each(APPS)('%s app', (app) => {
    it('the sandbox answers `claude -p` through translation; the app token stays in Switchyard', async () => {
      const sandbox = demo.sandbox as TestUpstream;
      const before = sandbox.requests.length;
      const prompt = `say hello to ${app} ${randomUUID()}`;
      const run = await runClaude(prompt, work, {
        ANTHROPIC_BASE_URL: urls[app],
        ANTHROPIC_AUTH_TOKEN: appToken,
        ANTHROPIC_CUSTOM_HEADERS: 'X-LLM-Provider: sandbox',
        ANTHROPIC_MODEL: 'general',
        ANTHROPIC_DEFAULT_HAIKU_MODEL: 'general',
      });
      expect(run.code, explain(run)).toBe(0);
      // The sandbox echoes the last user turn: Claude Code's context reminders, then the prompt.
      expect(run.stdout.startsWith('echo: '), explain(run)).toBe(true);
      expect(run.stdout.trimEnd().endsWith(prompt), explain(run)).toBe(true);
      expect(run.outbound, explain(run)).toEqual([]);

      const requests = chatRequests(sandbox, before);
      expect(requests, explain(run)).toHaveLength(1);
      const [request] = requests as [RecordedRequest & { json: ChatRequest }];
      expect(request.json).toMatchObject({ model: 'sandbox-echo', stream: true });
      const system = request.json.messages[0] as ChatMessage;
      expect(system.role).toBe('system');
      expect(textOf(system.content)).toContain('Claude');
      expect(textOf(system.content)).not.toContain('x-anthropic-billing-header');
      const last = request.json.messages.at(-1) as ChatMessage;
      expect(last.role).toBe('user');
      expect(textOf(last.content).endsWith(prompt)).toBe(true);
      const tools = (request.json.tools ?? []).map((tool) => tool.function.name);
      expect(tools).toEqual(expect.arrayContaining(['Bash', 'Read', 'Edit']));
      expect(request.json.tools?.every((tool) => tool.type === 'function')).toBe(true);
      // The sandbox takes no key: nothing in the Authorization header, and never the app token anywhere.
      expect(request.headers.authorization).toBeUndefined();
      expect(JSON.stringify(request.headers) + request.body).not.toContain(appToken);
    });

    it('DashScope (cn) runs a tool loop for `claude -p` with the caller key from X-LLM-Api-Key, thinking included', async () => {
      const before = relay.requests.length;
      const key = `sk-caller-${randomUUID()}`;
      const secret = `kumquat-${randomUUID().slice(0, 8)}`;
      const notes = join(work, `notes-${app}.txt`);
      writeFileSync(notes, `the secret word is ${secret}\n`);
      // The model thinks, says a few words and calls Read (its arguments in fragments); then it answers from the result.
      relay.enqueue(
        behaviors.stream(['Let me look.'], { reasoning: ['The answer is in ', 'the file; read it.'], toolCalls: [{ id: 'call_tool_1', name: 'Read', arguments: JSON.stringify({ file_path: notes }) }] }),
        behaviors.stream(['The secret ', `word is ${secret}.`], { reasoning: ['Found ', 'it.'] }),
      );
      const logsBefore = logs.lines.length;
      const run = await runClaude(`What is the secret word in ${notes}?`, work, {
        ANTHROPIC_BASE_URL: urls[app],
        ANTHROPIC_AUTH_TOKEN: appToken,
        ANTHROPIC_CUSTOM_HEADERS: `X-LLM-Provider: dashscope\nX-LLM-Api-Key: ${key}`,
        ANTHROPIC_MODEL: 'general',
        ANTHROPIC_DEFAULT_HAIKU_MODEL: 'general',
      });
      expect(run.code, explain(run)).toBe(0);
      expect(run.stdout.trim(), explain(run)).toBe(`The secret word is ${secret}.`);
      expect(run.outbound, explain(run)).toEqual([]);

      const requests = chatRequests(relay, before);
      expect(requests, explain(run)).toHaveLength(2);
      for (const request of requests) {
        expect(request.headers.authorization).toBe(`Bearer ${key}`);
        expect(JSON.stringify(request.headers) + request.body).not.toContain(appToken);
        // The tier, not Claude Code's own model name, and thinking as DashScope asks for it.
        expect(request.json).toMatchObject({ model: 'deepseek-v4-flash', stream: true, enable_thinking: true });
      }
      // The second turn carries the tool call (arguments joined), the reasoning that led to it, and Claude Code's tool result.
      const messages = (requests[1] as RecordedRequest & { json: ChatRequest }).json.messages;
      const assistant = messages.find((message) => message.role === 'assistant');
      expect(assistant).toMatchObject({ content: 'Let me look.', reasoning_content: 'The answer is in the file; read it.' });
      expect(assistant?.tool_calls).toEqual([{ id: 'call_tool_1', type: 'function', function: { name: 'Read', arguments: JSON.stringify({ file_path: notes }) } }]);
      const result = messages.find((message) => message.role === 'tool');
      expect(result?.tool_call_id).toBe('call_tool_1');
      expect(textOf(result?.content)).toContain(`the secret word is ${secret}`);

      const entries = logs.lines.slice(logsBefore).map((line) => JSON.parse(line) as Record<string, unknown>);
      const served = entries.filter((entry) => entry.path === '/v1/messages');
      expect(served.map((entry) => [entry.status, entry.provider, entry.keySource])).toEqual([
        [200, 'dashscope', 'caller'],
        [200, 'dashscope', 'caller'],
      ]);
      expect(logs.lines.join('\n')).not.toContain(key);
    });

    it('the caller key in ANTHROPIC_API_KEY (x-api-key) reaches DashScope as Bearer, and nowhere else through Switchyard', async () => {
      const before = relay.requests.length;
      const key = `sk-caller-${randomUUID()}`;
      const prompt = `ping ${randomUUID()}`;
      const run = await runClaude(prompt, work, {
        ANTHROPIC_BASE_URL: urls[app],
        ANTHROPIC_AUTH_TOKEN: appToken,
        ANTHROPIC_API_KEY: key,
        ANTHROPIC_CUSTOM_HEADERS: 'X-LLM-Provider: dashscope',
        ANTHROPIC_MODEL: 'general',
        ANTHROPIC_DEFAULT_HAIKU_MODEL: 'general',
      });
      expect(run.code, explain(run)).toBe(0);
      expect(run.stdout.trimEnd().endsWith(prompt), explain(run)).toBe(true);
      const requests = chatRequests(relay, before);
      expect(requests, explain(run)).toHaveLength(1);
      expect(requests[0]?.headers.authorization).toBe(`Bearer ${key}`);
      expect(JSON.stringify(requests[0]?.headers)).not.toContain(appToken);
      // With an API key set, Claude Code itself asks api.anthropic.com whether metrics are on, sending that key (the
      // README says to pass a non-Anthropic key in X-LLM-Api-Key instead). The guard refused it; nothing else was tried.
      expect(run.outbound.every((attempt) => /^(lookup|connect) api\.anthropic\.com(:443)?$/.test(attempt)), explain(run)).toBe(true);
    });

    it('an upstream that speaks Anthropic Messages gets what Claude Code sent, passed through with only the model rewritten', async () => {
      const before = relay.requests.length;
      const key = `sk-ant-caller-${randomUUID()}`;
      const prompt = `pass me through ${randomUUID()}`;
      const run = await runClaude(prompt, work, {
        ANTHROPIC_BASE_URL: urls[app],
        ANTHROPIC_AUTH_TOKEN: appToken,
        ANTHROPIC_CUSTOM_HEADERS: `X-LLM-Provider: anthropic\nX-LLM-Api-Key: ${key}`,
        ANTHROPIC_MODEL: 'general',
        ANTHROPIC_DEFAULT_HAIKU_MODEL: 'general',
      });
      expect(run.code, explain(run)).toBe(0);
      expect(run.stdout.startsWith('echo: '), explain(run)).toBe(true);
      expect(run.stdout.trimEnd().endsWith(prompt), explain(run)).toBe(true);
      expect(run.outbound, explain(run)).toEqual([]);
      const requests = relay.requests.slice(before);
      expect(requests.map((request) => request.endpoint), explain(run)).toEqual(['messages']);
      const [request] = requests as [RecordedRequest];
      // Anthropic's own headers go on: the caller's key as x-api-key, the version and Claude Code's betas; never the app token.
      expect(request.headers['x-api-key']).toBe(key);
      expect(request.headers['anthropic-version']).toBe('2023-06-01');
      expect(String(request.headers['anthropic-beta'])).toContain('claude-code-20250219');
      expect(JSON.stringify(request.headers) + request.body).not.toContain(appToken);
      // Everything Claude Code sends arrives as it sent it, the tier resolved to a model.
      const body = request.json as Record<string, unknown>;
      expect(body).toMatchObject({ model: 'claude-sonnet-4-6', stream: true, thinking: { type: 'adaptive' }, output_config: { effort: 'high' } });
      expect(Object.keys(body)).toEqual(expect.arrayContaining(['system', 'tools', 'metadata', 'max_tokens', 'context_management']));
      expect(JSON.stringify(body.system)).toContain('x-anthropic-billing-header');
    });
  });
});
