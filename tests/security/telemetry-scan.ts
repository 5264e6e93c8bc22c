/**
 * Setup for the security suites: each runs with OpenTelemetry's SDK registered globally (as an app registers it) and
 * recording in memory; after the file, every span and metric recorded is searched for every key the file made and for
 * anything key-shaped. Suites elsewhere run without it.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { redactSecrets } from '@switchyard/core';
import { createTelemetryRecorder, registerGlobally, type TelemetryRecorder, useAsyncContext } from '../../packages/core/test/telemetry-recorder.js';
import { issuedKeys } from './support.js';

/** What in `text` is a key: one of `keys` whole or by its random tail, or anything the redactor would mask. */
export function keysIn(text: string, keys: Iterable<string>): string[] {
  const found: string[] = [];
  for (const key of keys) {
    if (text.includes(key)) found.push(key);
    else if (text.includes(key.slice(-12))) found.push(`…${key.slice(-12)}`);
  }
  if (redactSecrets(text) !== text) {
    // Point at the first place the redactor changed.
    const redacted = redactSecrets(text);
    let at = 0;
    while (at < text.length && text[at] === redacted[at]) at++;
    found.push(`key-shaped: ${text.slice(Math.max(0, at - 40), at + 40)}`);
  }
  return found;
}

const file = expect.getState().testPath ?? '';

if (/[/\\]tests[/\\]security[/\\]/.test(file)) {
  let recorder: TelemetryRecorder;
  let undo: Array<() => void> = [];

  beforeAll(() => {
    recorder = createTelemetryRecorder();
    undo = [useAsyncContext(), registerGlobally(recorder)];
  });

  afterAll(async () => {
    try {
      const text = await recorder.everything();
      // The scan must have something to scan: the suite's requests were traced and counted.
      expect(recorder.spans().length, 'spans recorded while the suite ran').toBeGreaterThan(0);
      expect(text, 'metrics recorded while the suite ran').toContain('switchyard.requests');
      expect(issuedKeys.size, 'keys the suite made').toBeGreaterThan(0);
      expect(keysIn(text, issuedKeys), 'keys in spans or metrics').toEqual([]);
    } finally {
      for (const step of undo.reverse()) step();
      await recorder.shutdown();
    }
  });
}
