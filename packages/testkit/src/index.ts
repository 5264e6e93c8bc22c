export { startTestUpstream, type TestUpstream, type TestUpstreamOptions } from './test-upstream.js';
export type { RecordedRequest } from './recorded-request.js';
export {
  behaviors,
  type Behavior,
  type CompletionBehavior,
  type CutMidStreamBehavior,
  type EchoBehavior,
  type ErrorBehavior,
  type FixtureBehavior,
  type GarbageBehavior,
  type RateLimitBehavior,
  type RegionBlockBehavior,
  type StallBeforeFirstByteBehavior,
  type StallMidStreamBehavior,
  type StatusBehavior,
  type StreamBehavior,
  type TokenUsage,
} from './behavior.js';
export { fixturesDir, fixtureStatus, listFixtures, readFixture } from './fixtures.js';
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
