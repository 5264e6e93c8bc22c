import { defineProject } from 'vitest/config';
import { sharedProject } from '../vitest.shared.js';

/** The packed tarballs installed from the registry into fresh Express 4/5 and Koa 2/3 apps (tests/install). */
const base = sharedProject(import.meta.dirname);

export default defineProject({
  ...base,
  test: {
    ...base.test,
    name: 'install',
    include: ['install/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    typecheck: { enabled: false },
  },
});
