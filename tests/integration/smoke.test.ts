import { describe, expect, it } from 'vitest';
import { createSwitchyard } from '@switchyard/core';

describe('suites project', () => {
  it('imports workspace packages from source', () => {
    expect(typeof createSwitchyard).toBe('function');
  });
});
