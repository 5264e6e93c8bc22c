/** The errors a stream reader raises itself, shared by the full reader and the passthrough observer. */
import { SwitchyardError } from '../errors.js';

/** The body ended before a finish reason or `[DONE]`: a cut-off stream, never a clean end. */
export function streamEndedEarlyError(provider?: string): SwitchyardError {
  return new SwitchyardError('upstream_error', 'the stream ended before it finished', { provider });
}

/** A frame whose data should have been a JSON chunk and was not. */
export function invalidFrameError(provider?: string): SwitchyardError {
  return new SwitchyardError('upstream_error', 'the upstream sent a stream frame that is not JSON', { provider });
}
