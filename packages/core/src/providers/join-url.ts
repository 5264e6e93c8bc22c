import { DEFAULT_AZURE_API_VERSION, isAzureDeploymentPath, isAzureHost } from './azure.js';

/** An upstream endpoint URL and how the key goes with it. */
export interface Endpoint {
  /** The full URL of the endpoint. */
  url: string;
  /** How the key goes: `Authorization: Bearer`, Azure's `api-key`, or not at all. */
  auth: 'bearer' | 'api-key' | 'none';
}

const ENDPOINT_SUFFIXES = ['/chat/completions', '/embeddings', '/models', '/responses', '/messages'];

/**
 * Joins a base URL and an endpoint path (`chat/completions`) without `/v1/v1` or `//`, keeping the base's query,
 * and calls Azure OpenAI hosts the Azure way (`api-key` header, `api-version` on deployment URLs).
 */
export function joinEndpoint(baseUrl: string, path: string, auth: 'bearer' | 'api-key' | 'none'): Endpoint {
  const url = new URL(baseUrl);
  let base = url.pathname.replace(/\/+$/, '');
  // Callers sometimes paste a full endpoint URL; keep only the base.
  for (const suffix of ENDPOINT_SUFFIXES) {
    if (base.endsWith(suffix)) {
      base = base.slice(0, -suffix.length);
      break;
    }
  }
  url.pathname = `${base}/${path.replace(/^\/+/, '')}`;
  const azure = isAzureHost(url.hostname);
  if (azure && isAzureDeploymentPath(url.pathname) && !url.searchParams.has('api-version')) {
    url.searchParams.set('api-version', DEFAULT_AZURE_API_VERSION);
  }
  return { url: url.href, auth: azure || auth === 'api-key' ? 'api-key' : auth };
}
