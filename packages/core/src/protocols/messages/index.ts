/** The Anthropic Messages codec (`/messages`). */
import type { WireCodec } from '../codec.js';
import { createMessagesTracker } from './tracker.js';
import { decodeMessagesAnswer, encodeMessagesAnswer } from './answer.js';
import { anthropicErrorAnswer, anthropicErrorBody } from './errors.js';
import { createMessagesObserver } from './observer.js';
import { checkMessagesRequest, decodeMessagesRequest, encodeMessagesRequest } from './request.js';
import { createMessagesDecoder, createMessagesEncoder } from './stream.js';

/** The Anthropic Messages wire. */
export const messagesCodec: WireCodec = {
  wire: 'messages',
  check: checkMessagesRequest,
  decodeRequest: decodeMessagesRequest,
  encodeRequest: encodeMessagesRequest,
  createDecoder: createMessagesDecoder,
  decodeAnswer: decodeMessagesAnswer,
  createEncoder: (meta) => createMessagesEncoder(meta),
  encodeAnswer: encodeMessagesAnswer,
  createObserver: createMessagesObserver,
  createTracker: createMessagesTracker,
  errorAnswer: anthropicErrorAnswer,
  errorFrame: (error) => `event: error\ndata: ${JSON.stringify(anthropicErrorBody(error))}\n\n`,
};

export { anthropicErrorAnswer, anthropicErrorBody, anthropicErrorType } from './errors.js';
export { checkCountTokensRequest, checkMessagesRequest, decodeMessagesRequest, encodeMessagesRequest, DEFAULT_MAX_TOKENS } from './request.js';
export { anthropicUsage, createMessagesDecoder, createMessagesEncoder, usageFromAnthropic } from './stream.js';
export { createMessagesObserver } from './observer.js';
