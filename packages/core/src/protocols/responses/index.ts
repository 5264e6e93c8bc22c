/** The OpenAI Responses codec (`/responses`). */
import type { WireCodec } from '../codec.js';
import { createResponsesTracker } from './tracker.js';
import { decodeResponsesAnswer, encodeResponsesAnswer } from './answer.js';
import { responsesErrorAnswer, responsesErrorEvent } from './errors.js';
import { createResponsesObserver } from './observer.js';
import { checkResponsesRequest, decodeResponsesRequest, encodeResponsesRequest } from './request.js';
import { createResponsesDecoder, createResponsesEncoder } from './stream.js';

/** The OpenAI Responses wire. */
export const responsesCodec: WireCodec = {
  wire: 'responses',
  check: checkResponsesRequest,
  decodeRequest: decodeResponsesRequest,
  encodeRequest: encodeResponsesRequest,
  createDecoder: createResponsesDecoder,
  decodeAnswer: decodeResponsesAnswer,
  createEncoder: (meta) => createResponsesEncoder(meta),
  encodeAnswer: encodeResponsesAnswer,
  createObserver: createResponsesObserver,
  createTracker: createResponsesTracker,
  errorAnswer: responsesErrorAnswer,
  // Without the stream's state (the observer has it): the error event alone, unnumbered.
  errorFrame: (error) => responsesErrorEvent(error, undefined),
};

export { checkResponsesRequest, decodeResponsesRequest, encodeResponsesRequest } from './request.js';
export { createResponsesDecoder, createResponsesEncoder, responsesUsage, usageFromResponses } from './stream.js';
export { createResponsesObserver, type ResponsesObserver } from './observer.js';
export { decodeResponsesAnswer, encodeResponsesAnswer } from './answer.js';
export { responsesErrorAnswer, responsesErrorBody } from './errors.js';
