import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import type { Conversation } from '../protocols/conversation.js';
import { CONTINUE_INSTRUCTION, continuationConversation, continuationStyle, createOverlapFilter, resumeFor, resumeRoute } from './resume.js';
import { resolveRoute } from './resolve.js';

/** Feeds a continuation to a filter in pieces of `size`, as a stream would. */
function filtered(sent: string, continuation: string, size = 3): string {
  const filter = createOverlapFilter(sent);
  let out = '';
  for (let at = 0; at < continuation.length; at += size) out += filter.push(continuation.slice(at, at + size));
  return out + filter.flush();
}

const SENT = 'Rivers carry silt to the sea, where it settles into deltas over many ';

describe('createOverlapFilter', () => {
  it('passes a clean continuation through', () => {
    expect(filtered(SENT, 'quiet years. Then more.')).toBe('quiet years. Then more.');
  });

  it('cuts a repetition of the end of the sent text', () => {
    expect(filtered(SENT, 'deltas over many quiet years.')).toBe('quiet years.');
    expect(filtered(SENT, 'settles into deltas over many quiet years.', 1)).toBe('quiet years.');
  });

  it('cuts a restart of the whole answer', () => {
    expect(filtered(SENT, `${SENT}quiet years.`, 5)).toBe('quiet years.');
    expect(filtered('short', 'short and more')).toBe(' and more');
  });

  it('cuts whitespace the sent text ended with (a trimmed prefill said again)', () => {
    expect(filtered('Hello ', ' world')).toBe('world');
    expect(filtered('Hello\n\n', '\n\nNext part')).toBe('Next part');
  });

  it('keeps a short coincidence: a continuation that starts like the sent text ends', () => {
    expect(filtered('I like the', ' theater a lot')).toBe(' theater a lot');
    expect(filtered('It is the', 'the end')).toBe('the end');
  });

  it('holds back only while the start could still be a repetition', () => {
    const filter = createOverlapFilter(SENT);
    expect(filter.push('over')).toBe('');
    expect(filter.push(' many')).toBe('');
    expect(filter.push(' quiet')).toBe('quiet');
    expect(filter.push(' years')).toBe(' years');
    const fresh = createOverlapFilter(SENT);
    expect(fresh.push('Zebras')).toBe('Zebras');
  });

  it('finds long overlaps in long answers quickly', () => {
    const long = 'word '.repeat(20_000) + 'end of the sent text with a unique tail 12345 ';
    const started = performance.now();
    expect(filtered(long, 'a unique tail 12345 and then the rest', 50)).toBe('and then the rest');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('with nothing sent, passes everything through', () => {
    expect(filtered('', 'all of it')).toBe('all of it');
  });
});

describe('resumeFor', () => {
  const config = resolveConfig({ providers: { openai: { apiKey: 'k' } }, resume: { tiers: ['expert'], header: true } });
  const route = (requested: string) => resolveRoute(config, { headers: {}, requested });

  it('resumes the tiers that opted in, and any request with X-LLM-Resume: true where allowed', () => {
    expect(resumeFor(config, route('expert'), {})).toBe(config.resume);
    expect(resumeFor(config, route('general'), {})).toBeUndefined();
    expect(resumeFor(config, route('general'), { 'x-llm-resume': 'true' })).toBe(config.resume);
    expect(resumeFor(config, route('expert'), { 'x-llm-resume': 'False' })).toBeUndefined();
  });

  it('ignores the header where the operator does not allow it, and refuses a bad value anyway', () => {
    const closed = resolveConfig({ providers: { openai: { apiKey: 'k' } }, resume: { tiers: ['*'] } });
    const none = resolveConfig({ providers: { openai: { apiKey: 'k' } } });
    expect(resumeFor(closed, resolveRoute(closed, { headers: {}, requested: 'gpt-4o' }), {})).toBe(closed.resume);
    expect(resumeFor(none, resolveRoute(none, { headers: {}, requested: 'general' }), { 'x-llm-resume': 'true' })).toBeUndefined();
    expect(() => resumeFor(none, resolveRoute(none, { headers: {}, requested: 'general' }), { 'x-llm-resume': 'maybe' })).toThrow(/true or false/);
  });

  it('is off entirely when neither tiers nor the header are configured', () => {
    expect(resolveConfig({ resume: {} }).resume).toBeUndefined();
    expect(resolveConfig({ resume: { header: true } }).resume?.maxResumes).toBe(2);
  });
});

describe('where and how a continuation is asked', () => {
  const config = resolveConfig({});
  const openai = config.providers.get('openai')!;
  const anthropic = config.providers.get('anthropic')!;

  it('goes on with the next model of the tier, or the same one when it was the last', () => {
    const route = resolveRoute(config, { headers: { 'x-llm-api-key': 'k' }, requested: 'general' });
    expect(resumeRoute({ route, model: 'gpt-5' }).candidates).toEqual(['gpt-5-mini']);
    expect(resumeRoute({ route, model: 'gpt-5-mini' }).candidates).toEqual(['gpt-5-mini']);
  });

  it('prefills on Anthropic before Claude 4.6, instructs on 4.6 and later and on everything else', () => {
    expect(continuationStyle(anthropic, ['messages'], 'claude-sonnet-4-5', 'chat')).toEqual({ wire: 'messages', style: 'prefill' });
    expect(continuationStyle(anthropic, ['messages'], 'claude-haiku-4-5-20251001', 'chat')).toEqual({ wire: 'messages', style: 'prefill' });
    expect(continuationStyle(anthropic, ['messages'], 'claude-3-7-sonnet-20250219', 'chat')).toEqual({ wire: 'messages', style: 'prefill' });
    expect(continuationStyle(anthropic, ['messages'], 'claude-sonnet-4-20250514', 'chat')).toEqual({ wire: 'messages', style: 'prefill' });
    expect(continuationStyle(anthropic, ['messages'], 'claude-opus-4-6', 'chat')).toEqual({ wire: 'messages', style: 'instruction' });
    expect(continuationStyle(anthropic, ['messages'], 'claude-sonnet-5', 'chat')).toEqual({ wire: 'messages', style: 'instruction' });
    expect(continuationStyle(openai, ['chat', 'responses'], 'gpt-5', 'responses')).toEqual({ wire: 'responses', style: 'instruction' });
    expect(continuationStyle({ ...openai, continuation: 'partial' }, ['chat'], 'qwen-plus', 'messages')).toEqual({ wire: 'chat', style: 'partial' });
  });

  it('asks with the sent text as the last assistant turn (trimmed for a prefill), thinking and forced formats off', () => {
    const conversation: Conversation = {
      model: 'general',
      system: [],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'q' }] }],
      stream: true,
      reasoning: { enabled: true, effort: 'high' },
      responseFormat: { type: 'json_object' },
      toolChoice: 'required',
    };
    const prefill = continuationConversation(conversation, 'Half an answer ', 'prefill');
    expect(prefill.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Half an answer' }] });
    expect(prefill.reasoning).toBeUndefined();
    expect(prefill.responseFormat).toBeUndefined();
    expect(prefill.toolChoice).toBeUndefined();
    const instructed = continuationConversation(conversation, 'Half an answer ', 'instruction');
    expect(instructed.messages.slice(-2)).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'Half an answer ' }] },
      { role: 'user', content: [{ type: 'text', text: CONTINUE_INSTRUCTION }] },
    ]);
    // Nothing sent yet: the question as it was, thinking kept.
    expect(continuationConversation(conversation, '', 'instruction')).toMatchObject({ messages: conversation.messages, reasoning: conversation.reasoning });
    expect(conversation.messages).toHaveLength(1);
  });
});
