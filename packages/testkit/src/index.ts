export { startTestUpstream, type TestUpstream, type TestUpstreamOptions } from './test-upstream.js';
export type { RecordedRequest } from './recorded-request.js';
export type { Endpoint, Wire } from './routes.js';
export {
  behaviors,
  type AnswerExtras,
  type Behavior,
  type CompletionBehavior,
  type CutMidStreamBehavior,
  type EchoBehavior,
  type ErrorBehavior,
  type FixtureBehavior,
  type GarbageBehavior,
  type RateLimitBehavior,
  type RegionBlockBehavior,
  type ScriptedToolCall,
  type StallBeforeFirstByteBehavior,
  type StallMidStreamBehavior,
  type StatusBehavior,
  type StreamBehavior,
  type StreamErrorBehavior,
  type TokenUsage,
} from './behavior.js';
export { splitArguments } from './answer.js';
export { fixturesDir, fixtureStatus, fixtureWire, listFixtures, readFixture } from './fixtures.js';
export {
  errorProviders,
  providerError,
  providerErrorCodes,
  type ErrorProvider,
  type ProviderErrorOptions,
  type ProviderErrorResponse,
} from './provider-errors.js';
export { ECHO_PREFIX, echoEmbedding, splitIntoChunks } from './echo.js';
export { findRedisServer, startTestRedis, type TestRedis, type TestRedisOptions } from './redis-server.js';
