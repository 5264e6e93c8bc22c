/**
 * The AI SDK's Anthropic provider (`@ai-sdk/anthropic` with `ai`'s `generateText` and `streamText`) as a client of
 * `/v1/messages` on both adapters, served once by a chat-only upstream (translation) and once by an upstream that
 * speaks Anthropic Messages itself (passthrough): text, streams, thinking, and a tool over two steps.
 */
import { randomUUID } from 'node:crypto';
import { createAnthropic } from '@ai-sdk/anthropic';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SwitchyardOptions } from '@switchyard/core';
import { behaviors, type RecordedRequest, type TestUpstream } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, startHarness } from './harness.js';

// The SDK prints its own warnings (unsupported settings) to the console; the assertions look at them instead.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

interface Mode {
  name: string;
  /** The provider the client names in X-LLM-Provider. */
  provider: string;
  /** The model `general` resolves to there. */
  model: string;
  /** The wire the upstream is called on. */
  endpoint: 'chat' | 'messages';
  options(upstream: TestUpstream, appToken: string): SwitchyardOptions;
}

const MODES: Mode[] = [
  {
    name: 'translation (chat-only upstream)',
    provider: 'dashscope',
    model: 'deepseek-v4-flash',
    endpoint: 'chat',
    options: (upstream, appToken) => ({ providers: { dashscope: { baseUrl: upstream.url } }, appTokens: [appToken] }),
  },
  {
    name: 'passthrough (Messages upstream)',
    provider: 'claude-relay',
    model: 'claude-sonnet-4-6',
    endpoint: 'messages',
    options: (upstream, appToken) => ({
      providers: { 'claude-relay': { label: 'Anthropic relay', wires: ['messages'], baseUrl: upstream.url, clusters: ['global'], tiers: { general: ['claude-sonnet-4-6'] } } },
      appTokens: [appToken],
    }),
  },
];

const WEATHER = tool({
  description: 'The weather in a city',
  inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }),
  execute: async ({ city }) => ({ city, forecast: 'sunny', celsius: 21 }),
});

type Json = Record<string, any>;

/** The generation requests the upstream received, in order. */
function generations(upstream: TestUpstream): RecordedRequest[] {
  return upstream.requests.filter((request) => request.endpoint === 'chat' || request.endpoint === 'messages');
}

describe.each(ADAPTERS)('the AI SDK (@ai-sdk/anthropic) over %s', (adapter) => {
  describe.each(MODES)('$name', (mode) => {
    let h: Harness;
    let appToken: string;
    let key: string;
    let anthropic: ReturnType<typeof createAnthropic>;

    beforeAll(async () => {
      appToken = `app-${randomUUID()}`;
      h = await startHarness(adapter, { switchyard: (upstream) => mode.options(upstream, appToken) });
    });
    afterAll(() => h.close());
    beforeEach(() => {
      h.upstream.reset();
      key = callerKey();
      // The app token as the SDK's auth token (Authorization: Bearer); the caller's key and provider as Switchyard headers.
      anthropic = createAnthropic({ baseURL: `${h.url}/v1`, authToken: appToken, headers: { 'X-LLM-Api-Key': key, 'X-LLM-Provider': mode.provider } });
    });

    /** What every upstream call must show: the caller's key in the provider's own header, the model, never the app token. */
    function expectUpstreamCall(request: RecordedRequest | undefined): Json {
      expect(request?.endpoint).toBe(mode.endpoint);
      if (mode.endpoint === 'chat') expect(request?.headers.authorization).toBe(`Bearer ${key}`);
      else expect(request?.headers['x-api-key']).toBe(key);
      expect(JSON.stringify(request?.headers) + String(request?.body)).not.toContain(appToken);
      const json = request?.json as Json;
      expect(json.model).toBe(mode.model);
      return json;
    }

    it('generateText: the answer, its finish reason and usage; the upstream got the system prompt and the question', async () => {
      const result = await generateText({ model: anthropic('general'), system: 'Be brief.', prompt: 'hello there', maxOutputTokens: 200 });
      expect(result.text).toBe('echo: hello there');
      expect(result.finishReason).toBe('stop');
      expect(result.usage.outputTokens).toBeGreaterThan(0);
      expect(result.usage.inputTokens).toBeGreaterThan(0);
      expect(result.response.modelId).toBe(mode.model);
      expect(result.response.headers?.['x-llm-served-by']).toBe(`${mode.provider}/${mode.model}`);
      const json = expectUpstreamCall(h.upstream.lastRequest());
      if (mode.endpoint === 'chat') {
        expect(json).toMatchObject({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello there' }], max_tokens: 200 });
        expect(json.stream).toBeUndefined();
      } else {
        expect(json).toMatchObject({ system: [{ type: 'text', text: 'Be brief.' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }], max_tokens: 200 });
      }
    });

    it('streamText: the text arrives in several deltas and joins to the answer, then finish and usage', async () => {
      h.upstream.enqueue(behaviors.stream(['Hello', ' from', ' the', ' upstream.']));
      const result = streamText({ model: anthropic('general'), prompt: 'stream please' });
      const deltas: string[] = [];
      for await (const delta of result.textStream) deltas.push(delta);
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.join('')).toBe('Hello from the upstream.');
      expect(await result.finishReason).toBe('stop');
      expect((await result.usage).outputTokens).toBeGreaterThan(0);
      const json = expectUpstreamCall(h.upstream.lastRequest());
      expect(json.stream).toBe(true);
    });

    it('streamText with thinking: the reasoning and the text come apart', async () => {
      h.upstream.enqueue(behaviors.stream(['The answer ', 'is 4.'], { reasoning: ['Two and two ', 'make four.'] }));
      const result = streamText({
        model: anthropic('general'),
        prompt: 'what is 2 + 2?',
        maxOutputTokens: 4096,
        providerOptions: { anthropic: { thinking: { type: 'enabled', budgetTokens: 2048 } } },
      });
      expect(await result.text).toBe('The answer is 4.');
      expect(await result.reasoningText).toBe('Two and two make four.');
      const json = expectUpstreamCall(h.upstream.lastRequest());
      if (mode.endpoint === 'chat') expect(json).toMatchObject({ enable_thinking: true, thinking_budget: 2048 });
      else expect(json.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    });

    it('generateText with a tool: the call, its result, and a second step that carries the result to the upstream', async () => {
      h.upstream.enqueue(
        behaviors.completion('', { toolCalls: [{ id: 'call_weather_1', name: 'weather', arguments: JSON.stringify({ city: 'Paris' }) }] }),
        behaviors.completion('Sunny in Paris, 21 degrees.'),
      );
      const result = await generateText({ model: anthropic('general'), tools: { weather: WEATHER }, stopWhen: stepCountIs(2), prompt: 'Weather in Paris?' });
      expect(result.steps).toHaveLength(2);
      const [first, second] = result.steps;
      expect(first?.finishReason).toBe('tool-calls');
      expect(first?.toolCalls.map((call) => [call.toolCallId, call.toolName, call.input])).toEqual([['call_weather_1', 'weather', { city: 'Paris' }]]);
      expect(first?.toolResults.map((item) => item.output)).toEqual([{ city: 'Paris', forecast: 'sunny', celsius: 21 }]);
      expect(second?.text).toBe('Sunny in Paris, 21 degrees.');
      expect(result.text).toBe('Sunny in Paris, 21 degrees.');

      const [call1, call2] = generations(h.upstream);
      const firstJson = expectUpstreamCall(call1);
      const secondJson = expectUpstreamCall(call2);
      const output = JSON.stringify({ city: 'Paris', forecast: 'sunny', celsius: 21 });
      if (mode.endpoint === 'chat') {
        expect(firstJson.tools).toEqual([
          { type: 'function', function: { name: 'weather', description: 'The weather in a city', parameters: expect.objectContaining({ properties: { city: { type: 'string' } } }) } },
        ]);
        expect(secondJson.messages.slice(-2)).toEqual([
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_weather_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'call_weather_1', content: output },
        ]);
      } else {
        expect(firstJson.tools).toEqual([expect.objectContaining({ name: 'weather', input_schema: expect.objectContaining({ properties: { city: { type: 'string' } } }) })]);
        const [assistant, user] = secondJson.messages.slice(-2) as Json[];
        expect(assistant).toEqual({ role: 'assistant', content: [{ type: 'tool_use', id: 'call_weather_1', name: 'weather', input: { city: 'Paris' } }] });
        expect(user?.role).toBe('user');
        expect(user?.content).toEqual([expect.objectContaining({ type: 'tool_result', tool_use_id: 'call_weather_1' })]);
        expect(JSON.stringify(user?.content)).toContain(JSON.stringify(output).slice(1, -1));
      }
    });

    it('the caller key as the SDK apiKey (x-api-key) works the same, with the app token beside it', async () => {
      const byApiKey = createAnthropic({ baseURL: `${h.url}/v1`, apiKey: key, headers: { Authorization: `Bearer ${appToken}`, 'X-LLM-Provider': mode.provider } });
      const result = await generateText({ model: byApiKey('general'), prompt: 'by x-api-key' });
      expect(result.text).toBe('echo: by x-api-key');
      expectUpstreamCall(h.upstream.lastRequest());
    });
  });
});
