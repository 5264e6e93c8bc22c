import { defineProject } from 'vitest/config';
import { sharedProject } from '../vitest.shared.js';

/** Suites that run against both adapters (Express and Koa) over real servers on loopback. */
const base = sharedProject(import.meta.dirname);

export default defineProject({
  ...base,
  test: {
    ...base.test,
    name: 'suites',
    include: ['**/*.test.ts'],
    // The security suites run with a recording OpenTelemetry SDK, then every span and metric is searched for keys.
    setupFiles: ['./security/telemetry-scan.ts'],
    typecheck: { enabled: true, include: ['**/*.test-d.ts'], tsconfig: `${import.meta.dirname}/tsconfig.json` },
  },
});
