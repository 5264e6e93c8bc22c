import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { behaviors, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { createDemo, type Demo } from '../src/demo.js';

// The Debian package: Playwright's own browser download does not work here.
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these, Chromium's own background connections are refused by the closed network and slow it down.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = fileURLToPath(new URL('../../../.artifacts/screenshots/', import.meta.url));
const WAIT_MS = 10_000;
const haveChromium = existsSync(CHROMIUM);

let demo: Demo;
let rejecting: TestUpstream;
let logs = '';
const servers: Server[] = [];
const bases: Record<'express' | 'koa', string> = { express: '', koa: '' };

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Waits until the element's text satisfies the check, then returns it. */
async function textOf(page: Page, selector: string, check: (text: string) => boolean = (text) => text.length > 0): Promise<string> {
  const locator = page.locator(selector).last();
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const text = ((await locator.textContent({ timeout: WAIT_MS }).catch(() => null)) ?? '').trim();
    if (check(text)) return text;
    if (Date.now() > deadline) throw new Error(`${selector}: text never matched; last seen ${JSON.stringify(text)}`);
    await page.waitForTimeout(25);
  }
}

async function send(page: Page, question: string): Promise<void> {
  await page.getByLabel('Your question').fill(question);
  await page.getByRole('button', { name: 'Send' }).click();
}

async function waitUntilIdle(page: Page): Promise<string> {
  return textOf(page, '#status', (text) => text === 'Done.' || text.startsWith('Failed') || text === 'Stopped.');
}

if (!haveChromium) {
  const message = `${CHROMIUM} is missing: install the Debian package with \`apt-get install -y chromium\` (.ci/run does this)`;
  if (process.env.CI) {
    it('runs the page in headless Chromium', () => {
      throw new Error(message);
    });
  } else {
    process.stderr.write(`page.test.ts skipped: ${message}\n`);
    it.skip(`skipped: ${message}`, () => {});
  }
}

describe.skipIf(!haveChromium)('the demo chat page in headless Chromium', () => {
  beforeAll(async () => {
    rejecting = await startTestUpstream({ defaultBehavior: behaviors.error('openai', 'invalid_api_key') });
    const logDestination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    demo = await createDemo({ env: { SWITCHYARD_ALLOWED_BASE_URLS: rejecting.url, LOG_LEVEL: 'info' }, logDestination });
    bases.express = await listen(createServer(demo.expressApp));
    bases.koa = await listen(createServer(demo.koaApp.callback()));
    // The WebSocket chat on both servers, as main.ts does.
    for (const server of servers) demo.attach(server);
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    // The demo closes its sockets first: upgraded sockets would keep the servers open.
    await demo?.close();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await rejecting?.close();
  });

  it.each(['express', 'koa'] as const)('%s: streams a sandbox reply with its route, shows error codes and hints, stores no key', async (app) => {
    const base = bases[app];
    const page$ = await fetch(`${base}/`);
    expect(page$.status).toBe(200);
    expect(page$.headers.get('content-type')).toContain('text/html');
    expect(page$.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${base}/app.js`)).headers.get('content-type')).toContain('text/javascript');

    const userDataDir = mkdtempSync(join(tmpdir(), 'switchyard-chromium-'));
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
        headless: true,
        viewport: { width: 1280, height: 900 },
      });
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        // The one expected failure: the 400 envelope of step 3, which Chromium reports as a failed resource.
        const expected = message.text().includes('status of 400') && message.location().url.endsWith('/api/chat');
        if (message.type() === 'error' && !expected) problems.push(`console: ${message.text()} (${message.location().url})`);
      });
      const requested: string[] = [];
      page.on('request', (request) => requested.push(request.url()));

      await page.goto(`${base}/`);
      await page.locator('#providers-table tr[data-provider="sandbox"]').waitFor({ timeout: WAIT_MS });
      expect(await textOf(page, '#server-line', (text) => text.includes('app;'))).toContain(app === 'koa' ? 'Koa' : 'Express');
      expect(await textOf(page, '#cluster')).toBe('· cluster global');
      const refreshed = page.waitForResponse((response) => response.url() === `${base}/api/providers` && response.ok(), { timeout: WAIT_MS });
      await page.getByRole('button', { name: 'Refresh' }).click();
      await refreshed;
      expect(await textOf(page, '#reach-updated')).toMatch(/^updated /);
      expect(await page.locator('#provider option').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^sandbox/), expect.stringMatching(/^openai/)]));

      // 1. The sandbox echoes the question; the route and what the router did are on the page.
      const question = `hello from ${app} ${randomUUID().slice(0, 8)}`;
      await send(page, question);
      expect(await waitUntilIdle(page)).toBe('Done.');
      expect(await textOf(page, '.message.assistant .reply')).toBe(`echo: ${question}`);
      expect(await textOf(page, '#served-by')).toBe('sandbox/sandbox-echo');
      expect(await textOf(page, '#attempts')).toBe('1');
      expect(await textOf(page, '#fallback-reason')).toBe('—');
      expect(await textOf(page, '#route')).toBe('sandbox/sandbox-echo · cluster global');
      expect(await textOf(page, '#cost')).toMatch(/^\d+ in \+ \d+ out = \d+ tokens/);
      expect(await textOf(page, '#request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const echoed = demo.sandbox?.lastRequest()?.json as { messages: Array<{ role: string; content: string }> };
      expect(echoed.messages.at(-1)).toEqual({ role: 'user', content: question });

      // 2. A slow stream with reasoning: the reply shows while it arrives, thinking apart from it.
      demo.sandbox?.enqueue(behaviors.stream(['Routes ', 'are ', 'chosen ', 'per request.'], { reasoning: ['Looking at ', 'the tiers.'], delayMs: 250 }));
      await send(page, 'How do you route?');
      await page.waitForFunction(
        () => {
          const turn = document.querySelectorAll('.message.assistant');
          const last = turn[turn.length - 1];
          const reply = last?.querySelector('.reply')?.textContent ?? '';
          return last?.classList.contains('busy') && reply.length > 0 && reply !== 'Routes are chosen per request.';
        },
        undefined,
        { timeout: WAIT_MS, polling: 'raf' },
      );
      await page.screenshot({ path: join(SCREENSHOTS, `page-${app}.png`), fullPage: true });
      expect(await waitUntilIdle(page)).toBe('Done.');
      expect(await textOf(page, '.message.assistant .reply')).toBe('Routes are chosen per request.');
      expect(await textOf(page, '.message.assistant .thinking-text')).toBe('Looking at the tiers.');
      const second = demo.sandbox?.lastRequest()?.json as { messages: Array<{ role: string; content: string }> };
      // The page keeps the conversation in memory and sends it as history.
      expect(second.messages.slice(-3)).toEqual([
        { role: 'user', content: question },
        { role: 'assistant', content: `echo: ${question}` },
        { role: 'user', content: 'How do you route?' },
      ]);

      // 3. The 400 envelope: openai with no key at all.
      await page.getByLabel('Provider').selectOption('openai');
      await send(page, 'no key');
      expect(await waitUntilIdle(page)).toMatch(/^Failed/);
      expect(await textOf(page, '.message.assistant .error-code')).toBe('missing_api_key');
      expect(await textOf(page, '.message.assistant .hint-text')).toContain('X-LLM-Api-Key');

      // 4. A bad key against an upstream that rejects it: the `error` event's code and hint.
      const key = `sk-test-${randomUUID()}`;
      const before = rejecting.requests.length;
      await page.getByLabel('API key').fill(key);
      await page.getByLabel('Base URL').fill(rejecting.url);
      await send(page, 'bad key please');
      expect(await waitUntilIdle(page)).toMatch(/^Failed/);
      expect(await textOf(page, '.message.assistant .error-code')).toBe('invalid_api_key');
      expect(await textOf(page, '.message.assistant .hint-text')).toContain('revoked or rotated');
      const [received] = rejecting.requests.slice(before);
      expect(received?.headers.authorization).toBe(`Bearer ${key}`);
      expect(received?.path).toMatch(/\/chat\/completions$/);
      await page.screenshot({ path: join(SCREENSHOTS, `page-${app}-errors.png`), fullPage: true });

      // The key lives in the field only: no storage, cookie, IndexedDB, URL or markup holds it.
      const stored = await page.evaluate(async () => ({
        local: localStorage.length,
        session: sessionStorage.length,
        cookie: document.cookie,
        databases: (await indexedDB.databases()).map((db) => db.name),
        markup: document.documentElement.outerHTML,
        url: location.href,
      }));
      expect(stored).toMatchObject({ local: 0, session: 0, cookie: '', databases: [] });
      expect(stored.markup).not.toContain(key);
      expect(stored.url).toBe(`${base}/`);
      expect(page.url()).toBe(`${base}/`);
      expect(await context.cookies()).toEqual([]);
      expect(requested.some((url) => url.includes(key))).toBe(false);
      expect(requested.every((url) => url.startsWith(`${base}/`))).toBe(true);
      expect(logs).not.toContain(key);
      expect(problems).toEqual([]);
    } finally {
      await context?.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });
  it.each(['express', 'koa'] as const)('%s: runs the chat over the WebSocket switch: turns, history, stop, a bad key', async (app) => {
    const base = bases[app];
    const userDataDir = mkdtempSync(join(tmpdir(), 'switchyard-chromium-'));
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1280, height: 900 } });
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url})`);
      });
      const sockets: string[] = [];
      const framesSent: string[] = [];
      page.on('websocket', (socket) => {
        sockets.push(socket.url());
        socket.on('framesent', (frame) => framesSent.push(String(frame.payload)));
      });
      const posted: string[] = [];
      page.on('request', (request) => {
        if (request.method() === 'POST') posted.push(request.url());
      });

      await page.goto(`${base}/`);
      await page.locator('#providers-table tr[data-provider="sandbox"]').waitFor({ timeout: WAIT_MS });
      await page.getByLabel('Use WebSocket').check();

      // 1. A turn over the socket: the echo, and what the router did, from the route event.
      const question = `over the socket ${randomUUID().slice(0, 8)}`;
      await send(page, question);
      expect(await waitUntilIdle(page)).toBe('Done.');
      expect(await textOf(page, '.message.assistant .reply')).toBe(`echo: ${question}`);
      expect(await textOf(page, '#socket-state')).toBe('open');
      expect(await textOf(page, '#served-by')).toBe('sandbox/sandbox-echo');
      expect(await textOf(page, '#attempts')).toBe('1');
      expect(await textOf(page, '#route')).toBe('sandbox/sandbox-echo · cluster global');
      expect(await textOf(page, '#cost')).toMatch(/^\d+ in \+ \d+ out = \d+ tokens/);
      expect(await textOf(page, '#request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(posted.filter((url) => url.endsWith('/api/chat'))).toEqual([]);

      // 2. A second turn on the same socket carries the conversation.
      await send(page, 'and again');
      expect(await waitUntilIdle(page)).toBe('Done.');
      expect(await textOf(page, '.message.assistant .reply')).toBe('echo: and again');
      expect(sockets).toEqual([`${base.replace('http', 'ws')}/api/chat`]);
      const second = demo.sandbox?.lastRequest()?.json as { messages: Array<{ role: string; content: string }> };
      expect(second.messages.slice(-3)).toEqual([
        { role: 'user', content: question },
        { role: 'assistant', content: `echo: ${question}` },
        { role: 'user', content: 'and again' },
      ]);

      // 3. Stop sends a cancel frame: the page stops, the upstream call is aborted, the socket stays for the next turn.
      demo.sandbox?.enqueue(behaviors.stream(['one ', 'two ', 'three ', 'four ', 'five'], { delayMs: 300 }));
      await send(page, 'slow one');
      await textOf(page, '.message.assistant .reply', (text) => text.startsWith('one'));
      await page.getByRole('button', { name: 'Stop' }).click();
      expect(await waitUntilIdle(page)).toBe('Stopped.');
      expect(framesSent).toContain('{"type":"cancel"}');
      await demo.sandbox?.waitForOpenConnections(0, 2000);
      expect(demo.sandbox?.lastRequest()?.aborted).toBe(true);
      expect(await textOf(page, '.message.assistant .footer')).toBe('stopped');
      await send(page, 'after stop');
      expect(await waitUntilIdle(page)).toBe('Done.');
      expect(await textOf(page, '.message.assistant .reply')).toBe('echo: after stop');

      // 4. A bad key, in the socket URL's query: the error event's code and hint, the key sent to its upstream only.
      const key = `sk-test-${randomUUID()}`;
      const before = rejecting.requests.length;
      await page.getByLabel('Provider').selectOption('openai');
      await page.getByLabel('API key').fill(key);
      await page.getByLabel('Base URL').fill(rejecting.url);
      await send(page, 'bad key over the socket');
      expect(await waitUntilIdle(page)).toMatch(/^Failed/);
      expect(await textOf(page, '.message.assistant .error-code')).toBe('invalid_api_key');
      expect(await textOf(page, '.message.assistant .hint-text')).toContain('revoked or rotated');
      const [received] = rejecting.requests.slice(before);
      expect(received?.headers.authorization).toBe(`Bearer ${key}`);
      // New credentials, new socket; the key is in no page URL, storage or log line.
      expect(sockets).toHaveLength(2);
      expect(new URL(sockets[1] as string).searchParams.get('llm_api_key')).toBe(key);
      const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie, markup: document.documentElement.outerHTML }));
      expect(stored).toMatchObject({ local: 0, session: 0, cookie: '' });
      expect(stored.markup).not.toContain(key);
      expect(page.url()).toBe(`${base}/`);
      expect(logs).not.toContain(key);
      await page.screenshot({ path: join(SCREENSHOTS, `page-${app}-websocket.png`), fullPage: true });

      // 5. The switch off: the socket closes and the chat goes back to POST.
      await page.getByLabel('API key').fill('');
      await page.getByLabel('Base URL').fill('');
      await page.getByLabel('Provider').selectOption('');
      await page.getByLabel('Use WebSocket').uncheck();
      expect(await textOf(page, '#socket-state')).toBe('off');
      await send(page, 'over http');
      expect(await waitUntilIdle(page)).toBe('Done.');
      expect(await textOf(page, '.message.assistant .reply')).toBe('echo: over http');
      expect(posted.filter((url) => url.endsWith('/api/chat'))).toHaveLength(1);
      expect(problems).toEqual([]);
    } finally {
      await context?.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });
});
