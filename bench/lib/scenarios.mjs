/**
 * What the bench sends and what a correct answer looks like: the upstream's 8-chunk script, the three scenarios,
 * and checks that read an answer the way a client would.
 */
import { randomUUID } from 'node:crypto';

/** The eight content deltas every upstream stream carries (joined for a non-streaming answer). */
export const UPSTREAM_CHUNKS = ['Switchyard', ' routes', ' each', ' call', ' to', ' the', ' right', ' provider.'];
export const UPSTREAM_TEXT = UPSTREAM_CHUNKS.join('');

/** The testkit behavior for the load part: 8 chunks, no delay. */
export const FAST_STREAM = { type: 'stream', chunks: UPSTREAM_CHUNKS };

/** The testkit behavior for the memory and abort part: the role frame at once, then a chunk a minute. */
export const SLOW_STREAM = { type: 'stream', chunks: UPSTREAM_CHUNKS, delayMs: 60_000 };

/** A caller key built at run time; it only ever travels to the loopback upstream. */
export const CALLER_KEY = `sk-bench-${randomUUID()}`;

const QUESTION = 'Say something about routing.';

/** The load scenarios: id, path, body, and whether the answer is a stream. */
export const SCENARIOS = [
  {
    id: 'v1-json',
    label: '/v1/chat/completions',
    path: '/v1/chat/completions',
    stream: false,
    body: JSON.stringify({ model: 'general', messages: [{ role: 'user', content: QUESTION }] }),
  },
  {
    id: 'v1-stream',
    label: '/v1/chat/completions stream',
    path: '/v1/chat/completions',
    stream: true,
    body: JSON.stringify({ model: 'general', stream: true, messages: [{ role: 'user', content: QUESTION }] }),
  },
  {
    id: 'api-chat',
    label: '/api/chat',
    path: '/api/chat',
    stream: true,
    body: JSON.stringify({ question: QUESTION, agent: 'App', provider: 'general' }),
  },
  {
    id: 'messages-json',
    label: '/v1/messages passthrough',
    path: '/v1/messages',
    wire: 'messages',
    stream: false,
    headers: { 'x-llm-provider': 'anthropic', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'general', max_tokens: 256, messages: [{ role: 'user', content: QUESTION }] }),
  },
  {
    id: 'messages-stream',
    label: '/v1/messages passthrough stream',
    path: '/v1/messages',
    wire: 'messages',
    stream: true,
    headers: { 'x-llm-provider': 'anthropic', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'general', max_tokens: 256, stream: true, messages: [{ role: 'user', content: QUESTION }] }),
  },
  {
    // Translated to a chat upstream; the references pass the same request through to a messages upstream, so the
    // ratio to them is what translation adds.
    id: 'messages-translated',
    label: '/v1/messages translated stream',
    path: '/v1/messages',
    wire: 'messages',
    stream: true,
    headers: { 'x-llm-provider': 'openai', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'general', max_tokens: 256, stream: true, messages: [{ role: 'user', content: QUESTION }] }),
  },
];

/** The headers a bench request carries: JSON, the caller's key, and the scenario's own (provider, protocol version). */
export function requestHeaders(scenario) {
  return {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(scenario.body)),
    'x-llm-api-key': CALLER_KEY,
    ...scenario.headers,
  };
}

function dataLines(text) {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trim());
}

/** Reads an OpenAI-protocol SSE body: the joined content and whether it ended with `[DONE]`. */
function readOpenAIStream(text) {
  const lines = dataLines(text);
  let content = '';
  for (const line of lines) {
    if (line === '[DONE]') continue;
    const frame = JSON.parse(line);
    if (frame.error) throw new Error(`error frame: ${line.slice(0, 200)}`);
    content += frame.choices?.[0]?.delta?.content ?? '';
  }
  return { content, done: lines.at(-1) === '[DONE]' };
}

/** Reads an Anthropic Messages stream: the joined text and whether it ended with `message_stop`. */
function readMessagesStream(text) {
  let content = '';
  let last;
  for (const line of dataLines(text)) {
    const event = JSON.parse(line);
    if (event.type === 'error') throw new Error(`error event: ${line.slice(0, 200)}`);
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') content += event.delta.text;
    last = event.type;
  }
  return { content, done: last === 'message_stop' };
}

/** Reads an `/api/chat` event stream: the joined reply and the `end` event. */
function readChatEvents(text) {
  const events = dataLines(text).map((line) => JSON.parse(line));
  const error = events.find((event) => event.type === 'error');
  if (error) throw new Error(`error event: ${JSON.stringify(error).slice(0, 200)}`);
  return {
    content: events.filter((event) => event.type === 'reply').map((event) => event.content).join(''),
    end: events.at(-1),
  };
}

/**
 * Throws unless `answer` ({status, headers, text}) is a correct answer to `scenario`. A reference's `/api/chat` is the
 * upstream stream passed through (its minimal equivalent); a subject's is Switchyard's event stream.
 */
export function checkAnswer(scenario, answer, { subject }) {
  if (answer.status !== 200) throw new Error(`status ${answer.status}: ${answer.text.slice(0, 200)}`);
  const type = String(answer.headers['content-type'] ?? '');
  if (subject && !answer.headers['x-llm-served-by']) throw new Error('no X-LLM-Served-By header');
  if (scenario.wire === 'messages') {
    if (!scenario.stream) {
      const content = JSON.parse(answer.text).content?.map((block) => block.text ?? '').join('');
      if (content !== UPSTREAM_TEXT) throw new Error(`content ${JSON.stringify(content)}`);
      return;
    }
    if (!type.includes('text/event-stream')) throw new Error(`content-type ${type}`);
    const { content, done } = readMessagesStream(answer.text);
    if (content !== UPSTREAM_TEXT) throw new Error(`content ${JSON.stringify(content)}`);
    if (!done) throw new Error('no message_stop at the end');
    return;
  }
  if (!scenario.stream) {
    const body = JSON.parse(answer.text);
    const content = body.choices?.[0]?.message?.content;
    if (content !== UPSTREAM_TEXT) throw new Error(`content ${JSON.stringify(content)}`);
    return;
  }
  if (!type.includes('text/event-stream')) throw new Error(`content-type ${type}`);
  if (scenario.id === 'api-chat' && subject) {
    const { content, end } = readChatEvents(answer.text);
    if (content !== UPSTREAM_TEXT) throw new Error(`reply ${JSON.stringify(content)}`);
    if (end?.type !== 'end' || end.finish_reason !== 'stop') throw new Error(`last event ${JSON.stringify(end)}`);
    return;
  }
  const { content, done } = readOpenAIStream(answer.text);
  if (content !== UPSTREAM_TEXT) throw new Error(`content ${JSON.stringify(content)}`);
  if (!done) throw new Error('no [DONE] at the end');
}
