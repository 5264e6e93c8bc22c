/** The Chat Completions codec (`/chat/completions`). */
import { encodeOpenAIErrorFrame, openAIErrorBody } from '../../stream/sse-encoder.js';
import type { WireCodec } from '../codec.js';
import { createChatTracker } from './tracker.js';
import { errorHeaders } from '../error-headers.js';
import { decodeChatAnswer, encodeChatAnswer } from './answer.js';
import { checkChatRequest, decodeChatRequest, encodeChatRequest } from './request.js';
import { createChatDecoder, createChatEncoder, createChatObserver } from './stream.js';

/** The OpenAI Chat Completions wire. */
export const chatCodec: WireCodec = {
  wire: 'chat',
  check: checkChatRequest,
  decodeRequest: decodeChatRequest,
  encodeRequest: encodeChatRequest,
  createDecoder: createChatDecoder,
  decodeAnswer: decodeChatAnswer,
  createEncoder: createChatEncoder,
  encodeAnswer: encodeChatAnswer,
  createObserver: createChatObserver,
  createTracker: createChatTracker,
  errorAnswer: (error) => ({ status: error.status, headers: errorHeaders(error), body: JSON.stringify(openAIErrorBody(error)) }),
  errorFrame: encodeOpenAIErrorFrame,
};

export { checkChatRequest, decodeChatRequest, encodeChatRequest } from './request.js';
export { chatFinishReason, chatUsage, createChatDecoder, createChatEncoder, createChatObserver } from './stream.js';
