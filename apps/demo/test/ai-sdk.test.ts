/**
 * The AI SDK's default path against the demo: `openai('general')` from `@ai-sdk/openai` calls `/v1/responses`, which
 * the demo's sandbox (a chat-only upstream) serves through translation, on the Express app and the Koa app.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDemo, type Demo } from '../src/demo.js';

const APPS = ['express', 'koa'] as const;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

describe.each(APPS)('the AI SDK default openai(model) against the demo, %s app', (app) => {
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

  const provider = () => createOpenAI({ baseURL: `${url}/v1`, apiKey: 'app-token-unused' });

  it('streamText: the text streams in pieces, the finish and usage arrive; the sandbox got a chat request', async () => {
    const result = streamText({ model: provider()('general'), system: 'Be brief.', prompt: 'hello from the AI SDK' });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe('echo: hello from the AI SDK');
    expect(await result.finishReason).toBe('stop');
    expect((await result.usage).outputTokens).toBe(6);
    expect((await result.response).modelId).toBe('sandbox-echo');
    const received = demo.sandbox?.lastRequest();
    expect(received?.path).toBe('/v1/chat/completions');
    expect(received?.json).toMatchObject({ model: 'sandbox-echo', stream: true, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello from the AI SDK' }] });
  });

  it('generateText with a tool: the call comes back with its input, runs, and the second step sends the result', async () => {
    demo.sandbox?.enqueue({ type: 'fixture', name: 'openai-tool-call' });
    const calls: unknown[] = [];
    const result = await generateText({
      model: provider()('general'),
      prompt: 'What is the weather in San Francisco?',
      tools: {
        get_weather: tool({
          description: 'The weather in a city',
          inputSchema: z.object({ city: z.string(), state: z.string() }),
          execute: async (input) => {
            calls.push(input);
            return { temperature: 14, sky: 'fog' };
          },
        }),
      },
      stopWhen: stepCountIs(2),
    });
    expect(calls).toEqual([{ city: 'San Francisco', state: 'CA' }]);
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]?.finishReason).toBe('tool-calls');
    expect(result.steps[0]?.toolCalls.map((call) => [call.toolName, call.input])).toEqual([['get_weather', { city: 'San Francisco', state: 'CA' }]]);
    expect(result.text).toBe('echo: What is the weather in San Francisco?');
    const [first, second] = demo.sandbox?.requests ?? [];
    expect(first?.json).toMatchObject({ tools: [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city' } }] });
    const callId = result.steps[0]?.toolCalls[0]?.toolCallId;
    expect((second?.json as { messages: unknown[] }).messages.slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: callId, type: 'function', function: { name: 'get_weather', arguments: '{"city":"San Francisco","state":"CA"}' } }] },
      { role: 'tool', tool_call_id: callId, content: '{"temperature":14,"sky":"fog"}' },
    ]);
  });

  it('a second turn: the SDK refers to its earlier answer by item id unless store is off; that is a 400 with the hint, store: false works', async () => {
    const first = await generateText({ model: provider()('general'), prompt: 'first turn' });
    expect(first.text).toBe('echo: first turn');
    const messages = [...[{ role: 'user' as const, content: 'first turn' }], ...first.response.messages, { role: 'user' as const, content: 'second turn' }];

    const refused = await generateText({ model: provider()('general'), messages, maxRetries: 0 }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(APICallError.isInstance(refused)).toBe(true);
    expect((refused as APICallError).statusCode).toBe(400);
    expect((refused as APICallError).responseBody).toContain('providerOptions.openai.store = false');

    const second = await generateText({ model: provider()('general'), messages, providerOptions: { openai: { store: false } } });
    expect(second.text).toBe('echo: second turn');
    expect((demo.sandbox?.lastRequest()?.json as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'first turn' },
      { role: 'assistant', content: 'echo: first turn' },
      { role: 'user', content: 'second turn' },
    ]);
  });
});
