import { basename } from 'node:path';
import type { ViteUserConfig } from 'vitest/config';

/**
 * Tests read workspace packages from src through the `@switchyard/source` export condition. No `module` condition:
 * dependencies resolve as Node resolves them (OpenTelemetry's `module` builds are for bundlers and do not load in Node).
 */
const conditions = ['@switchyard/source', 'node', 'development|production'];

export function sharedProject(dir: string): ViteUserConfig {
  return {
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    test: {
      name: basename(dir),
      root: dir,
      environment: 'node',
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 20_000,
      hookTimeout: 20_000,
      typecheck: { enabled: true, include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'], tsconfig: `${dir}/tsconfig.json` },
    },
  };
}
