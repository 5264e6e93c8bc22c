import { defineProject } from 'vitest/config';
import suites from './vitest.config.js';

/**
 * The same suites on the previous majors: `express` resolves to Express 4 and `koa` to Koa 2 (npm aliases `express4`,
 * `koa2` in the root package.json), so every suite, and every suite added later, runs on both majors unchanged.
 */
export default defineProject({
  ...suites,
  resolve: {
    ...suites.resolve,
    alias: [
      { find: /^express(?=\/|$)/, replacement: 'express4' },
      { find: /^koa(?=\/|$)/, replacement: 'koa2' },
    ],
  },
  test: {
    ...suites.test,
    name: 'suites-express4-koa2',
    env: { SWITCHYARD_SUITE_MAJORS: 'express@4 koa@2' },
    // The types of the suites do not change with the runtime major: checked once, in `suites`.
    typecheck: { enabled: false },
  },
});
