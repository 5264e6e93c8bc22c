import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'tests/vitest.config.ts', 'tests/vitest.express4-koa2.config.ts', 'tests/vitest.install.config.ts'],
  },
});
