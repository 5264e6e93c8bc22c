/**
 * The suites run once per framework major (the `suites` and `suites-express4-koa2` projects): this checks that each
 * project really loads the Express and Koa it names, so a broken alias cannot pass the old majors off as tested.
 */
import express from 'express';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { ADAPTERS, FRAMEWORK_VERSIONS, startHarness } from './harness.js';

const major = (version: string) => Number(version.split('.')[0]);
const expected = Object.fromEntries((process.env.SWITCHYARD_SUITE_MAJORS ?? '').split(' ').map((entry) => entry.split('@')));

describe(`the framework majors of this project (${process.env.SWITCHYARD_SUITE_MAJORS ?? 'unset'})`, () => {
  it('loads the Express and Koa majors the project names', () => {
    expect(ADAPTERS.map((adapter) => `${adapter}@${major(FRAMEWORK_VERSIONS[adapter])}`).join(' ')).toBe(process.env.SWITCHYARD_SUITE_MAJORS);
  });

  // Express 5 dropped `express.query`; Koa 3 added `ctx.back()`: the modules themselves, not only their package.json.
  it('imports the modules of those majors', () => {
    expect('query' in express).toBe(expected.express === '4');
    expect(typeof (new Koa().context as { back?: unknown }).back === 'function').toBe(expected.koa === '3');
  });

  it.each(ADAPTERS)('serves %s from that major', async (adapter) => {
    const h = await startHarness(adapter);
    try {
      const response = await fetch(`${h.url}/v1/models`, { headers: { 'x-llm-api-key': 'sk-test-majors' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-powered-by')).toBe(adapter === 'express' ? 'Express' : null);
    } finally {
      await h.close();
    }
  });
});
