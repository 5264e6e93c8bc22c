/** The endpoints the test upstream serves. */
export type Endpoint = 'chat' | 'embeddings' | 'models';

/** Where a request goes: an endpoint (whatever the prefix) and, on Azure deployment URLs, the deployment. */
export interface Route {
  endpoint: Endpoint;
  /** Azure `/openai/deployments/<deployment>/…`: the deployment stands in for the model. */
  deployment?: string;
}

const AZURE_DEPLOYMENT = /\/openai\/deployments\/([^/]+)\/(?:chat\/completions|embeddings)$/;

/** Matches a path (without query) by its ending, so `/v1`, `/compatible-mode/v1`, `/api/v3` and Azure prefixes all work. */
export function matchRoute(method: string, path: string): Route | undefined {
  let endpoint: Endpoint | undefined;
  if (method === 'POST' && path.endsWith('/chat/completions')) endpoint = 'chat';
  else if (method === 'POST' && path.endsWith('/embeddings')) endpoint = 'embeddings';
  else if (method === 'GET' && path.endsWith('/models')) endpoint = 'models';
  if (endpoint === undefined) return undefined;
  const deployment = AZURE_DEPLOYMENT.exec(path)?.[1];
  if (deployment === undefined) return { endpoint };
  try {
    return { endpoint, deployment: decodeURIComponent(deployment) };
  } catch {
    // A malformed escape is still a usable deployment name as sent.
    return { endpoint, deployment };
  }
}
