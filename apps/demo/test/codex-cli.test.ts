/**
 * Codex CLI (`codex exec`, from the `@openai/codex` npm package) against the demo: a custom model provider in a
 * temporary CODEX_HOME with `base_url` at the demo's `/v1` and `wire_api = "responses"`, answered by the demo's
 * sandbox, a chat-only upstream, through translation. Offline: every address but loopback goes to a dead proxy.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDemo, type Demo } from '../src/demo.js';

const CODEX = createRequire(import.meta.url).resolve('@openai/codex/bin/codex.js');
const APPS = ['express', 'koa'] as const;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** The config.toml a person writes to point Codex at Switchyard (README "Codex CLI"). */
function codexConfig(baseUrl: string): string {
  return [
    'model = "general"',
    'model_provider = "switchyard"',
    // Web search runs on OpenAI's side; a provider reached through translation has none to offer.
    'web_search = "disabled"',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[model_providers.switchyard]',
    'name = "Switchyard"',
    `base_url = "${baseUrl}/v1"`,
    'wire_api = "responses"',
    'http_headers = { "X-LLM-Provider" = "sandbox" }',
    'env_http_headers = { "X-LLM-Api-Key" = "SWITCHYARD_LLM_KEY" }',
    '',
  ].join('\n');
}

interface CodexRun {
  code: number | null;
  stdout: string;
  stderr: string;
  lastMessage: string;
}

/** Runs `codex exec` with `prompt` in a fresh CODEX_HOME and working directory, offline but for loopback. */
async function codexExec(baseUrl: string, prompt: string): Promise<CodexRun> {
  const home = await mkdtemp(join(tmpdir(), 'switchyard-codex-'));
  try {
    await writeFile(join(home, 'config.toml'), codexConfig(baseUrl));
    const lastMessageFile = join(home, 'last-message.txt');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      CODEX_HOME: home,
      SWITCHYARD_LLM_KEY: `sk-codex-${home.slice(-6)}`,
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
      ALL_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1,localhost',
      RUST_LOG: 'error',
    };
    // No OS sandbox: the only command run is the one this suite scripts, and CI containers may lack user namespaces.
    const args = [CODEX, 'exec', '--strict-config', '--skip-git-repo-check', '--ephemeral', '--color', 'never', '-s', 'danger-full-access', '-C', home, '-o', lastMessageFile, prompt];
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, args, { env, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (error, out, err) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout: String(out), stderr: String(err) });
      });
      child.stdin?.end();
    });
    const lastMessage = await readFile(lastMessageFile, 'utf8').catch(() => '');
    return { code, stdout, stderr, lastMessage };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** A chat upstream's stream that calls one tool, in fragments, as an OpenAI-compatible provider sends it. */
function toolCallStream(name: string, args: string): string {
  const chunk = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-codex', object: 'chat.completion.chunk', created: 1, model: 'sandbox-echo', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const half = Math.floor(args.length / 2);
  return [
    chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_codex_1', type: 'function', function: { name, arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, half) } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(half) } }] }),
    chunk({}, 'tool_calls'),
    `data: ${JSON.stringify({ id: 'chatcmpl-codex', object: 'chat.completion.chunk', created: 1, model: 'sandbox-echo', choices: [], usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 } })}\n\n`,
    'data: [DONE]\n\n',
  ].join('');
}

describe.each(APPS)('Codex CLI against the demo (%s app), a chat-only upstream through translation', (app) => {
  let demo: Demo;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    demo = await createDemo({ env: {}, logDestination: discard });
    server = app === 'express' ? createServer(demo.expressApp) : createServer(demo.koaApp.callback());
    url = await listen(server);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await demo.close();
  });
  beforeEach(() => {
    demo.sandbox?.reset();
  });

  it('codex exec prints the answer; the upstream got Codex’s instructions, tools and prompt as a chat request', async () => {
    const run = await codexExec(url, 'say hello to the switchyard');
    expect(run.code, run.stderr).toBe(0);
    expect(run.lastMessage.trim()).toMatch(/^echo: [\s\S]*say hello to the switchyard$/);
    expect(run.stdout).toContain('say hello to the switchyard');
    const requests = demo.sandbox?.requests ?? [];
    expect(requests).toHaveLength(1);
    const received = requests[0];
    expect(received?.path).toBe('/v1/chat/completions');
    // The sandbox takes no key: the one Codex sent in X-LLM-Api-Key never reaches it.
    expect(received?.headers.authorization).toBeUndefined();
    const body = received?.json as { model: string; stream: boolean; messages: Array<{ role: string; content: string }>; tools: Array<{ function: { name: string } }> };
    expect(body.model).toBe('sandbox-echo');
    expect(body.stream).toBe(true);
    expect(body.messages[0]?.role).toBe('system');
    expect(body.messages[0]?.content).toContain('Codex');
    expect(body.messages.at(-1)).toMatchObject({ role: 'user', content: expect.stringMatching(/say hello to the switchyard$/) });
    expect(body.tools.map((tool) => tool.function.name)).toEqual(expect.arrayContaining(['exec_command', 'close_agent']));
  });

  it('codex exec runs the tool the model called and sends its output back in a second turn', async () => {
    demo.sandbox?.enqueue({ type: 'status', status: 200, headers: { 'content-type': 'text/event-stream' }, body: toolCallStream('exec_command', JSON.stringify({ cmd: 'echo codex-ran-this' })) });
    const run = await codexExec(url, 'run the echo command');
    expect(run.code, run.stderr).toBe(0);
    const requests = demo.sandbox?.requests ?? [];
    expect(requests).toHaveLength(2);
    const messages = (requests[1]?.json as { messages: Array<{ role: string; content: string | null; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>; tool_call_id?: string }> }).messages;
    const call = messages.find((message) => message.role === 'assistant' && message.tool_calls);
    expect(call?.tool_calls?.[0]).toMatchObject({ id: 'call_codex_1', function: { name: 'exec_command', arguments: '{"cmd":"echo codex-ran-this"}' } });
    const result = messages.find((message) => message.role === 'tool');
    expect(result?.tool_call_id).toBe('call_codex_1');
    expect(result?.content).toContain('codex-ran-this');
    expect(run.lastMessage.trim()).toMatch(/^echo: [\s\S]*run the echo command$/);
  });
});
