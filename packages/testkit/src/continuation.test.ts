import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../test/http.js';
import { assertBehavior, behaviors } from './behavior.js';
import { startTestUpstream, type TestUpstream } from './test-upstream.js';

const TEXT = 'The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun.';

let upstream: TestUpstream;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  upstream = await startTestUpstream();
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: upstream.url, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: upstream.origin, maxRetries: 0 });
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

async function chatText(messages: OpenAI.Chat.ChatCompletionMessageParam[]): Promise<string> {
  const stream = await openai.chat.completions.create({ model: 'gpt-5-mini', stream: true, messages });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

describe('continuation', () => {
  it('streams the whole text when the request carries no start of it', async () => {
    upstream.setDefault(behaviors.continuation(TEXT));
    expect(await chatText([{ role: 'user', content: 'tell me' }])).toBe(TEXT);
    // An earlier assistant turn that is not a start of the text changes nothing.
    expect(await chatText([{ role: 'user', content: 'a' }, { role: 'assistant', content: 'something else' }, { role: 'user', content: 'b' }])).toBe(TEXT);
  });

  it('streams the rest after a prefill or a partial answer followed by an instruction (chat)', async () => {
    upstream.setDefault(behaviors.continuation(TEXT));
    const start = TEXT.slice(0, 25);
    expect(await chatText([{ role: 'user', content: 'tell me' }, { role: 'assistant', content: start }])).toBe(TEXT.slice(25));
    const instructed = await chatText([
      { role: 'user', content: 'tell me' },
      { role: 'assistant', content: start },
      { role: 'user', content: 'Continue exactly where you stopped.' },
    ]);
    expect(instructed).toBe(TEXT.slice(25));
  });

  it('continues an Anthropic prefill whose trailing space was trimmed, as Anthropic does', async () => {
    upstream.setDefault(behaviors.continuation(TEXT));
    const sent = TEXT.slice(0, TEXT.indexOf('fox') + 4); // "... fox "
    const stream = anthropic.messages.stream({
      model: 'claude-haiku-4-5',
      max_tokens: 256,
      messages: [
        { role: 'user', content: 'tell me' },
        { role: 'assistant', content: sent.trimEnd() },
      ],
    });
    const message = await stream.finalMessage();
    const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    expect(text).toBe(TEXT.slice(sent.trimEnd().length));
    expect(text.startsWith(' jumps')).toBe(true);
    expect(message.stop_reason).toBe('end_turn');
  });

  it('continues on the Responses wire from an assistant input message', async () => {
    upstream.setDefault(behaviors.continuation(TEXT));
    const start = TEXT.slice(0, 40);
    const response = await openai.responses.create({
      model: 'gpt-5-mini',
      input: [
        { role: 'user', content: 'tell me' },
        { role: 'assistant', content: [{ type: 'output_text', text: start, annotations: [] }] } as never,
        { role: 'user', content: 'Continue exactly where you stopped.' },
      ],
    });
    expect(response.output_text).toBe(TEXT.slice(40));
    const streamed = await openai.responses.create({ model: 'gpt-5-mini', stream: true, input: 'tell me' });
    let text = '';
    for await (const event of streamed) if (event.type === 'response.output_text.delta') text += event.delta;
    expect(text).toBe(TEXT);
  });

  it('repeats the end of the start with overlap, starts over with restart', async () => {
    const start = TEXT.slice(0, 30);
    upstream.enqueue(behaviors.continuation(TEXT, { overlap: 6 }), behaviors.continuation(TEXT, { restart: true }));
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'tell me' }, { role: 'assistant', content: start }];
    expect(await chatText(messages)).toBe(TEXT.slice(24));
    expect(await chatText(messages)).toBe(TEXT);
  });

  it('holds the headers back for firstByteDelayMs, counts usage, and answers whole when not streamed', async () => {
    upstream.enqueue(behaviors.continuation(TEXT, { firstByteDelayMs: 120 }));
    const started = performance.now();
    const response = await fetch(`${upstream.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'one two' }] }),
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    await response.text();
    upstream.enqueue(behaviors.continuation(TEXT));
    const whole = await send(`${upstream.url}/chat/completions`, { body: { model: 'm', messages: [{ role: 'user', content: 'one two' }, { role: 'assistant', content: 'The quick' }] } });
    const body = JSON.parse(whole.text) as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number; completion_tokens: number } };
    expect(body.choices[0]?.message.content).toBe(TEXT.slice('The quick'.length));
    expect(body.usage.prompt_tokens).toBe(4);
    expect(body.usage.completion_tokens).toBe(TEXT.slice('The quick'.length).trim().split(/\s+/).length);
  });

  it('refuses a script it cannot serve', async () => {
    expect(() => assertBehavior(behaviors.continuation(''))).toThrow("invalid 'continuation' behavior: text must be a non-empty string");
    expect(() => assertBehavior(behaviors.continuation('x', { overlap: -1 }))).toThrow('overlap must be a non-negative integer');
    upstream.enqueue(behaviors.continuation(TEXT));
    const response = await send(`${upstream.url}/embeddings`, { body: { model: 'e', input: 'x' } });
    expect(response.status).toBe(500);
    expect(response.text).toContain("the 'continuation' behavior answers chat/completions, messages and responses, not embeddings");
  });
});
