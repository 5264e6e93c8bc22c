import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describePackaging, REPO_ROOT, runNode } from './packaging.js';

const CORE_DIR = join(REPO_ROOT, 'packages', 'core');
const TESTKIT_DIR = join(REPO_ROOT, 'packages', 'testkit');

/** Runs against the loaded `@switchyard/core` as `m`: configures, resolves a route, and fails one. */
const CORE_SMOKE = `
const config = m.resolveConfig({ cluster: 'cn', providers: { dashscope: { apiKey: 'sk-packaging' } } });
const route = m.resolveRoute(config, { headers: {}, requested: 'DeepSeekFlash' });
let error;
try {
  m.resolveRoute(config, { headers: { 'x-llm-provider': 'nope' } });
} catch (caught) {
  error = caught;
}
let configError;
try {
  m.resolveConfig({ cluster: 'mars' });
} catch (caught) {
  configError = caught;
}
return {
  route: { provider: route.provider.id, candidates: route.candidates, baseUrl: route.baseUrl, keySource: route.keySource },
  error: { code: error.code, status: error.status, instanceOf: error instanceof m.SwitchyardError, isInstance: m.SwitchyardError.isInstance(error) },
  configError: configError instanceof m.SwitchyardConfigError && configError.issues.length,
};`;

describePackaging({
  dir: CORE_DIR,
  exports: ['resolveConfig', 'resolveRoute', 'SwitchyardError', 'SwitchyardConfigError', 'optionsFromEnv', 'DEFAULT_PROVIDERS'],
  smoke: CORE_SMOKE,
  checkSmoke(value, build) {
    expect(value, build).toEqual({
      route: { provider: 'dashscope', candidates: ['deepseek-v4-flash'], baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1', keySource: 'operator' },
      error: { code: 'unknown_provider', status: 400, instanceOf: true, isInstance: true },
      configError: 1,
    });
  },
});

describe('@switchyard/core loaded twice (CJS and ESM copies in one process)', () => {
  it('recognizes errors across copies with SwitchyardError.isInstance, where instanceof cannot', async () => {
    const script = `
import { createRequire } from 'node:module';
import * as esm from '@switchyard/core';
const cjs = createRequire(process.cwd() + '/')('@switchyard/core');
const fromCjs = new cjs.SwitchyardError('rate_limited', 'slow down');
const fromEsm = new esm.SwitchyardError('invalid_api_key', 'bad key');
console.log(JSON.stringify({
  sameClass: cjs.SwitchyardError === esm.SwitchyardError,
  esmInstanceOfCjsError: fromCjs instanceof esm.SwitchyardError,
  esmRecognizesCjs: esm.SwitchyardError.isInstance(fromCjs),
  cjsRecognizesEsm: cjs.SwitchyardError.isInstance(fromEsm),
  plainError: esm.SwitchyardError.isInstance(new Error('x')) || cjs.SwitchyardError.isInstance({ code: 'rate_limited' }),
  fields: { code: fromCjs.code, status: fromCjs.status, retryable: fromCjs.retryable },
}));`;
    expect(await runNode(REPO_ROOT, script, 'esm')).toEqual({
      sameClass: false,
      esmInstanceOfCjsError: false,
      esmRecognizesCjs: true,
      cjsRecognizesEsm: true,
      plainError: false,
      fields: { code: 'rate_limited', status: 429, retryable: true },
    });
  });
});

describePackaging({ dir: TESTKIT_DIR, exports: [] });
