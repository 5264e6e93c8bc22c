/** The endpoints the test upstream serves. */
export type Endpoint = 'chat' | 'embeddings' | 'models' | 'messages' | 'countTokens' | 'responses';

/**
 * The wire protocol an answer is rendered in: `chat` (OpenAI Chat Completions, and the OpenAI shapes of
 * embeddings and models), `messages` (Anthropic Messages, count_tokens included) or `responses` (OpenAI Responses).
 */
export type Wire = 'chat' | 'messages' | 'responses';

/** Where a request goes: an endpoint (whatever the prefix), its wire and, on Azure deployment URLs, the deployment. */
export interface Route {
  endpoint: Endpoint;
  wire: Wire;
  /** Azure `/openai/deployments/<deployment>/…`: the deployment stands in for the model. */
  deployment?: string;
}

const AZURE_DEPLOYMENT = /\/openai\/deployments\/([^/]+)\/(?:chat\/completions|embeddings|responses)$/;

const WIRES: Readonly<Record<Endpoint, Wire>> = {
  chat: 'chat',
  embeddings: 'chat',
  models: 'chat',
  messages: 'messages',
  countTokens: 'messages',
  responses: 'responses',
};

/** The wire an endpoint answers in. */
export function wireOf(endpoint: Endpoint): Wire {
  return WIRES[endpoint];
}

function endpointOf(method: string, path: string): Endpoint | undefined {
  if (method === 'POST') {
    if (path.endsWith('/chat/completions')) return 'chat';
    if (path.endsWith('/embeddings')) return 'embeddings';
    if (path.endsWith('/messages/count_tokens')) return 'countTokens';
    if (path.endsWith('/messages')) return 'messages';
    if (path.endsWith('/responses')) return 'responses';
    return undefined;
  }
  if (method === 'GET' && path.endsWith('/models')) return 'models';
  return undefined;
}

/**
 * Matches a path (without query) by its ending, so `/v1`, `/compatible-mode/v1`, `/api/v3`, `/anthropic/v1` and Azure
 * prefixes all work; the query (`?beta=true`, `?api-version=…`) plays no part.
 */
export function matchRoute(method: string, path: string): Route | undefined {
  const endpoint = endpointOf(method, path);
  if (endpoint === undefined) return undefined;
  const wire = wireOf(endpoint);
  const deployment = AZURE_DEPLOYMENT.exec(path)?.[1];
  if (deployment === undefined) return { endpoint, wire };
  try {
    return { endpoint, wire, deployment: decodeURIComponent(deployment) };
  } catch {
    // A malformed escape is still a usable deployment name as sent.
    return { endpoint, wire, deployment };
  }
}
