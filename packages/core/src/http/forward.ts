/**
 * Writing an upstream's answer to the client after the commit point: passed on as bytes (same wire in and out), or
 * re-encoded part by part (translation). Either way a broken stream ends with the wire's error frame, never cleanly.
 */
import type { Readable } from 'node:stream';
import { SwitchyardError } from '../errors.js';
import { readBodyBytes } from '../providers/openai-provider.js';
import type { JsonBody, UpstreamResponse, UpstreamTarget } from '../providers/provider.js';
import type { AnswerMeta, PartEncoder, SentAnswer, StreamObserver, WireCodec } from '../protocols/codec.js';
import { createAnswerCollector } from '../protocols/answer.js';
import { setServedHeaders } from '../router/attempts.js';
import { type Generation, generationParts } from '../router/generate.js';
import { usageOfJsonBytes } from '../stream/chunk-parts.js';
import type { Usage } from '../stream/parts.js';
import { PING_COMMENT } from '../stream/sse-encoder.js';
import { toSwitchyardError } from '../upstream-errors.js';
import type { StreamPart } from '../stream/parts.js';
import type { AttemptSpan } from '../telemetry/telemetry.js';
import { type EndpointContext, recordUsage } from './endpoint-context.js';
import { recordResumedUsage, reportBreak, resumeAnswer, type ResumePlan, type StreamBreak } from './resume-stream.js';

/** The SSE headers of SPEC §4: never cached, never transformed (compression middleware skips them), never buffered. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

function upstreamRequestId(response: UpstreamResponse): string | undefined {
  const id = response.headers['x-request-id'] ?? response.headers['request-id'];
  return Array.isArray(id) ? id[0] : id;
}

/** The headers of a committed answer: content type, where it came from, the upstream's request id. */
function answerHeaders(context: EndpointContext, target: UpstreamTarget, response: UpstreamResponse, base: Readonly<Record<string, string>>, fallbackReason: string | undefined): Record<string, string> {
  // Copied key by key: an object spread costs more than a request's whole header handling here.
  const headers: Record<string, string> = {};
  for (const name in base) headers[name] = base[name]!;
  setServedHeaders(headers, target, context.attempts, fallbackReason);
  const requestId = upstreamRequestId(response);
  if (requestId) headers['x-request-id'] = requestId;
  return headers;
}

function commit(context: EndpointContext, headers: Record<string, string>, fallbackReason: string | undefined): void {
  context.log.status = 200;
  if (fallbackReason !== undefined) context.log.fallbackReason = fallbackReason;
  context.sink.writeHead(200, headers);
}

/** Sends a non-streamed upstream answer on as the bytes that came: no decoding, no re-encoding. */
export async function forwardWhole(context: EndpointContext, target: UpstreamTarget, response: UpstreamResponse, fallbackReason?: string): Promise<void> {
  const bytes = await readBodyBytes(response.body, context.runtime.config.limits.upstreamBodyBytes);
  const headers = answerHeaders(context, target, response, { 'content-type': 'application/json; charset=utf-8' }, fallbackReason);
  // With its length, the answer goes out whole rather than chunked.
  headers['content-length'] = String(bytes.length);
  recordUsage(context, target.model, usageOfJsonBytes(bytes));
  commit(context, headers, fallbackReason);
  context.sink.end(bytes);
}

/**
 * Feeds every chunk of `body` to `onChunk`, pausing while the promise it returns (backpressure) is pending.
 * Resolves at the end of the body; rejects with its error, or when it closes before its end. Plain events rather
 * than `for await`: this runs once per frame of every stream, and the async iterator costs a few per cent there.
 */
export function pump(body: Readable, onChunk: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const resume = () => body.resume();
    const onData = (chunk: Buffer) => {
      const pending = onChunk(chunk);
      if (pending) {
        body.pause();
        void pending.then(resume);
      }
    };
    const settle = (error?: unknown) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onEnd = () => settle();
    const onError = (error: unknown) => settle(error ?? new Error('The upstream stream failed.'));
    const onClose = () => settle(new Error('The upstream stream closed before its end.'));
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}

/** A `: ping` comment after `heartbeatMs` of silence; `refresh` on every write. */
function heartbeat(context: EndpointContext): NodeJS.Timeout {
  const timer = setTimeout(function sendPing() {
    context.sink.write(PING_COMMENT);
    timer.refresh();
  }, context.runtime.config.heartbeatMs);
  return timer;
}

/** Ends a stream that broke after the commit: counts against its provider, logs, and writes the wire's error frame. */
function endBroken(context: EndpointContext, target: UpstreamTarget, failure: SwitchyardError, frame: string): void {
  context.log.streamError = failure.code;
  reportBreak(context.runtime, target, failure);
  context.sink.end(frame === '' ? undefined : frame);
}

/** What a stream needs to be resumed after a break (SPEC §5); absent on requests that did not opt in. */
export interface ResumeJob {
  plan: ResumePlan;
  /** The span of the attempt feeding the stream, marked failed when it breaks. */
  span?: AttemptSpan | undefined;
}

/** Continues a broken stream through `encoder` (resume), then ends it: the encoder's end, or its error frame. */
async function resumeInto(
  context: EndpointContext,
  job: ResumeJob,
  broken: StreamBreak,
  encoder: PartEncoder,
  ping: NodeJS.Timeout,
): Promise<void> {
  const { sink } = context;
  reportBreak(context.runtime, broken.target, broken.failure);
  const result = await resumeAnswer(context, job.plan, broken, sink.signal, {
    emit(part) {
      const frames = encoder.encode(part);
      if (frames === '') return undefined;
      ping.refresh();
      return sink.write(frames);
    },
    annotate: (resumed) => encoder.annotate({ x_switchyard: { resumed } }),
  });
  clearTimeout(ping);
  recordResumedUsage(context, result);
  if (sink.signal.aborted) {
    context.log.clientAborted = true;
    return;
  }
  if (result.failure) {
    context.log.streamError = result.failure.code;
    sink.end(encoder.error(result.failure));
    return;
  }
  sink.end(encoder.end());
}

/**
 * Forwards a passthrough stream that may be resumed: whole frames only, error frames held back, and the position
 * kept by the wire's tracker, so that a break goes on re-encoded in the same wire, with the same ids, block indexes
 * and sequence numbers, from the last frame the client has.
 */
async function forwardTracked(context: EndpointContext, codec: WireCodec, target: UpstreamTarget, response: UpstreamResponse, job: ResumeJob, includeUsage: boolean, request: JsonBody | undefined): Promise<void> {
  const { sink } = context;
  const provider = target.route.provider.id;
  const tracker = codec.createTracker({ provider });
  const ping = heartbeat(context);
  let failure: SwitchyardError | undefined;
  try {
    await pump(response.body, (chunk) => {
      const out = tracker.push(chunk);
      if (out === undefined) return undefined;
      ping.refresh();
      return sink.write(out);
    });
    const rest = tracker.end();
    if (rest !== undefined) {
      const pending = sink.write(rest);
      if (pending) await pending;
    }
    if (tracker.error) failure = tracker.error;
    else if (!tracker.complete) failure = new SwitchyardError('upstream_error', 'The upstream stream ended before it finished.', { provider });
  } catch (thrown) {
    if (!sink.signal.aborted) failure = toSwitchyardError(thrown, { provider, cluster: target.route.cluster, secrets: [target.route.apiKey] });
  }
  if (sink.signal.aborted) {
    clearTimeout(ping);
    recordUsage(context, target.model, tracker.usage);
    context.log.clientAborted = true;
    response.body.destroy();
    return;
  }
  if (!failure) {
    clearTimeout(ping);
    recordUsage(context, target.model, tracker.usage);
    const closing = tracker.closingFrames();
    sink.end(closing === '' ? undefined : closing);
    return;
  }
  response.body.destroy();
  const encoder = tracker.continuation({ includeUsage, request, fallback: answerMeta(codec, target.model) });
  const untakeable = tracker.untakeable;
  if (untakeable !== undefined) {
    clearTimeout(ping);
    recordUsage(context, target.model, tracker.usage);
    job.span?.broke(failure.code);
    return endBroken(context, target, failure, encoder.error(failure));
  }
  await resumeInto(context, job, { target, failure, sent: tracker.sent, usage: tracker.usage, span: job.span }, encoder, ping);
}

/**
 * Forwards an upstream SSE stream in the caller's own wire as bytes, watching it with the wire's observer for usage,
 * errors and the end. After the commit point a failure becomes the wire's error frame: a client never mistakes a
 * broken stream for a finished one.
 */
export async function forwardStream(
  context: EndpointContext,
  codec: WireCodec,
  target: UpstreamTarget,
  response: UpstreamResponse,
  fallbackReason?: string,
  resume?: { job: ResumeJob; includeUsage: boolean; request: JsonBody },
): Promise<void> {
  const { sink } = context;
  commit(context, answerHeaders(context, target, response, SSE_HEADERS, fallbackReason), fallbackReason);
  if (resume) return forwardTracked(context, codec, target, response, resume.job, resume.includeUsage, resume.request);
  const provider = target.route.provider.id;
  const observer: StreamObserver = codec.createObserver({ provider });
  const ping = heartbeat(context);
  let failure: SwitchyardError | undefined;
  try {
    await pump(response.body, (chunk) => {
      observer.push(chunk);
      ping.refresh();
      return sink.write(chunk);
    });
    observer.end();
    if (observer.error) failure = observer.error;
    else if (!observer.complete) failure = new SwitchyardError('upstream_error', 'The upstream stream ended before it finished.', { provider });
  } catch (thrown) {
    if (!sink.signal.aborted) failure = toSwitchyardError(thrown, { provider, cluster: target.route.cluster, secrets: [target.route.apiKey] });
  } finally {
    clearTimeout(ping);
  }
  recordUsage(context, target.model, observer.usage);
  if (sink.signal.aborted) {
    context.log.clientAborted = true;
    response.body.destroy();
    return;
  }
  // The upstream's own error frame already went by with the bytes; ours is added only when it sent none.
  if (failure) return endBroken(context, target, failure, observer.errorForwarded ? '' : (observer.errorFrames?.(failure) ?? codec.errorFrame(failure)));
  const closing = observer.closingFrames();
  sink.end(closing === '' ? undefined : closing);
}

/** Notes what a part shows the client (resume keeps it to know where to go on from). */
export function noteSent(sent: SentAnswer, part: StreamPart): void {
  switch (part.type) {
    case 'text':
      sent.text += part.text;
      return;
    case 'reasoning':
    case 'reasoning-signature':
    case 'reasoning-redacted':
      sent.reasoning = true;
      return;
    case 'tool-call-delta':
      sent.toolCall = true;
      return;
    default:
      return;
  }
}

/** Identity for an answer Switchyard writes itself, in the style of the caller's wire. */
export function answerMeta(codec: WireCodec, model: string): AnswerMeta {
  const random = globalThis.crypto.randomUUID().replaceAll('-', '');
  const id = codec.wire === 'messages' ? `msg_${random.slice(0, 24)}` : codec.wire === 'responses' ? `resp_${random}` : `chatcmpl-${random.slice(0, 24)}`;
  return { id, model, created: Math.floor(Date.now() / 1000) };
}

/**
 * Re-encodes a translated answer in the caller's wire: part by part as a stream when the caller asked for one, or as
 * one whole answer. An error part before anything was written is still an error answer in the caller's envelope.
 */
export async function forwardTranslated(
  context: EndpointContext,
  codec: WireCodec,
  target: UpstreamTarget,
  generation: Generation,
  stream: boolean,
  fallbackReason: string | undefined,
  options: { includeUsage?: boolean; request?: JsonBody; resume?: ResumeJob | undefined } = {},
): Promise<void> {
  const { sink } = context;
  const provider = target.route.provider.id;
  const meta = answerMeta(codec, target.model);
  if (options.request !== undefined) meta.request = options.request;
  const parts = generationParts(generation, { provider, signal: sink.signal, limit: context.runtime.config.limits.upstreamBodyBytes });
  let usage: Usage | undefined;
  if (!stream) {
    const collector = createAnswerCollector();
    for await (const part of parts) collector.push(part);
    const { answer } = collector;
    if (answer.error) throw answer.error;
    usage = answer.usage;
    recordUsage(context, target.model, usage);
    commit(context, answerHeaders(context, target, generation.response, { 'content-type': 'application/json; charset=utf-8' }, fallbackReason), fallbackReason);
    sink.end(JSON.stringify(codec.encodeAnswer(answer, meta)));
    return;
  }
  commit(context, answerHeaders(context, target, generation.response, SSE_HEADERS, fallbackReason), fallbackReason);
  const encoder: PartEncoder = codec.createEncoder(meta, options);
  // Bytes at the commit: the client sees its stream open even while the upstream thinks.
  sink.write(encoder.open());
  const ping = heartbeat(context);
  const { resume } = options;
  // What went out, kept only where a break may be continued elsewhere.
  const sent: SentAnswer | undefined = resume ? { text: '', reasoning: false, toolCall: false } : undefined;
  let failure: SwitchyardError | undefined;
  try {
    for await (const part of parts) {
      if (part.type === 'error') {
        failure = part.error;
        break;
      }
      if (part.type === 'usage') usage = part.usage;
      if (sent !== undefined) noteSent(sent, part);
      const frames = encoder.encode(part);
      if (frames === '') continue;
      ping.refresh();
      const pending = sink.write(frames);
      if (pending) await pending;
    }
  } catch (thrown) {
    if (!sink.signal.aborted) failure = toSwitchyardError(thrown, { provider, cluster: target.route.cluster, secrets: [target.route.apiKey] });
  }
  if (failure && resume && sent && !sink.signal.aborted) {
    generation.response.body.destroy();
    return resumeInto(context, resume, { target, failure, sent, usage, span: resume.span }, encoder, ping);
  }
  clearTimeout(ping);
  if (failure && resume) resume.span?.broke(failure.code);
  recordUsage(context, target.model, usage);
  if (sink.signal.aborted) {
    context.log.clientAborted = true;
    generation.response.body.destroy();
    return;
  }
  if (failure) return endBroken(context, target, failure, encoder.error(failure));
  sink.end(encoder.end());
}
