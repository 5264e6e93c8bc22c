import { basename } from 'node:path';
import type { ViteUserConfig } from 'vitest/config';

/** Tests read workspace packages from src through the `@switchyard/source` export condition. */
const conditions = ['@switchyard/source', 'module', 'node', 'development|production'];

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
