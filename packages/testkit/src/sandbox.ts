import { completionBody } from './chat-answer.js';
import { countTokens, echoEmbedding, embeddingInputs, encodeEmbeddingBase64 } from './echo.js';
import { messageBody } from './messages-answer.js';
import { messagesRequestProblem, responsesRequestProblem } from './request-problems.js';
import { promptTokensOf } from './request-text.js';
import { responseBody } from './responses-answer.js';
import {
  carriedUsage,
  echoAnswer,
  identityOf,
  isRecord,
  json,
  messagesIdentityOf,
  modelOf,
  openaiError,
  requestIdOf,
  responsesIdentityOf,
  type JsonAnswer,
  type ResponseContext,
} from './response-context.js';

/** Fixed so `/models` answers are byte-stable. */
const MODEL_CREATED = 1_700_000_000;

/** Validates a chat body the way OpenAI does, so the sandbox does not echo nonsense. */
function chatBodyProblem(context: ResponseContext): JsonAnswer | undefined {
  if (!isRecord(context.json)) {
    return openaiError(
      400,
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      'invalid_request_error',
      null,
      null,
    );
  }
  if (!Array.isArray(context.json.messages)) {
    return openaiError(400, "Missing required parameter: 'messages'.", 'invalid_request_error', 'messages', 'missing_required_parameter');
  }
  return undefined;
}

/** The sandbox's validation of a request on a text wire: the 400 the real API would send, or undefined. */
export function sandboxProblem(context: ResponseContext): JsonAnswer | undefined {
  if (context.route.wire === 'messages') return messagesRequestProblem(context.json, requestIdOf(context));
  if (context.route.wire === 'responses') return responsesRequestProblem(context.json, context.route.deployment !== undefined);
  return chatBodyProblem(context);
}

function embeddingsAnswer(context: ResponseContext): JsonAnswer {
  const inputs = isRecord(context.json) ? embeddingInputs(context.json.input) : undefined;
  if (inputs === undefined) {
    return openaiError(400, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", 'invalid_request_error', null, null);
  }
  const base64 = isRecord(context.json) && context.json.encoding_format === 'base64';
  const tokens = inputs.reduce((sum, text) => sum + countTokens(text), 0);
  return json(200, {
    object: 'list',
    data: inputs.map((text, index) => {
      const vector = echoEmbedding(text);
      return { object: 'embedding', index, embedding: base64 ? encodeEmbeddingBase64(vector) : vector };
    }),
    model: modelOf(context),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

function countTokensAnswer(context: ResponseContext): JsonAnswer {
  return messagesRequestProblem(context.json, requestIdOf(context), true) ?? json(200, { input_tokens: promptTokensOf('messages', context.json) });
}

function modelsAnswer(context: ResponseContext): JsonAnswer {
  return json(200, { object: 'list', data: context.models.map((id) => ({ id, object: 'model', created: MODEL_CREATED, owned_by: 'testkit' })) });
}

/** The sandbox's whole JSON answer for a request that is not streamed, in the wire of its route. */
export function sandboxJson(context: ResponseContext): JsonAnswer {
  switch (context.route.endpoint) {
    case 'models':
      return modelsAnswer(context);
    case 'embeddings':
      return embeddingsAnswer(context);
    case 'countTokens':
      return countTokensAnswer(context);
    case 'chat':
      return chatBodyProblem(context) ?? json(200, completionBody(echoAnswer(context), identityOf(context)));
    case 'messages': {
      const answer = echoAnswer(context);
      return sandboxProblem(context) ?? json(200, messageBody(answer, messagesIdentityOf(context), carriedUsage(context, answer)));
    }
    case 'responses': {
      const answer = echoAnswer(context);
      return sandboxProblem(context) ?? json(200, responseBody(answer, responsesIdentityOf(context), carriedUsage(context, answer)));
    }
  }
}
