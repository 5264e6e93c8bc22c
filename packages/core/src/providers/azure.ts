/** The `api-version` sent to Azure OpenAI deployment URLs that name none. */
export const DEFAULT_AZURE_API_VERSION = '2024-10-21';

/** Whether a base URL points at Azure OpenAI (SPEC §3), which wants the `api-key` header. */
export function isAzureHost(hostname: string): boolean {
  return hostname.endsWith('.openai.azure.com') || hostname.endsWith('.cognitiveservices.azure.com');
}

/** Whether an Azure URL names a deployment (`/openai/deployments/<name>`), which needs an `api-version` query. */
export function isAzureDeploymentPath(pathname: string): boolean {
  return pathname.includes('/openai/deployments/');
}
