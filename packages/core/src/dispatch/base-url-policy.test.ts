import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SwitchyardError } from '../errors.js';
import { checkCallerBaseUrl, checkCallerCredentials, compileAllowlist, isAllowlisted, parseCallerBaseUrl } from './base-url-policy.js';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return SwitchyardError.isInstance(error) ? error.code : `not a SwitchyardError: ${String(error)}`;
  }
}

const check = (href: string, allow: string[] = []) => checkCallerBaseUrl(parseCallerBaseUrl(href), compileAllowlist(allow));

describe('checkCallerBaseUrl (the static part of the policy)', () => {
  const refused = [
    'https://2130706433/',
    'https://0177.0.0.1/',
    'https://0x7f.0.0.1/',
    'https://0x7f000001/',
    'https://127.1/',
    'https://[::1]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:7f00:1]/',
    'https://169.254.169.254/latest/meta-data/',
    'https://[fd00:ec2::254]/',
    'https://0.0.0.0/',
    'https://%31%32%37.0.0.1/',
    'https://１２７.０.０.１/',
    'https://api.openai.com@127.0.0.1/',
    'https://user:pass@api.openai.com/',
    'http://api.openai.com/v1',
    'ftp://api.openai.com/',
    'file:///etc/passwd',
    'not a url',
    '/v1/relative',
  ];
  for (const href of refused) {
    it(`refuses ${href}`, () => {
      expect(codeOf(() => check(href))).toBe('base_url_forbidden');
    });
  }

  it('passes a public https name to the resolver', () => {
    expect(check('https://relay.example.com/v1')).toBe('public');
    expect(check('https://8.8.8.8/v1')).toBe('public');
  });

  it('lets allowlisted prefixes through, http and internal addresses included, but never userinfo', () => {
    const allow = ['http://127.0.0.1:8080/v1', 'https://*.svc.cluster.local'];
    expect(check('http://127.0.0.1:8080/v1/chat', allow)).toBe('allowlisted');
    expect(check('https://llm.team.svc.cluster.local/openai', allow)).toBe('allowlisted');
    expect(codeOf(() => check('http://u:p@127.0.0.1:8080/v1', allow))).toBe('base_url_forbidden');
  });
});

describe('isAllowlisted', () => {
  const list = compileAllowlist(['https://relay.internal/v1', 'https://*.svc.cluster.local', 'not a url']);
  const cases: [string, boolean][] = [
    ['https://relay.internal/v1', true],
    ['https://relay.internal/v1/', true],
    ['https://relay.internal/v1/chat/completions', true],
    ['https://relay.internal/v10', false],
    ['https://relay.internal/', false],
    ['https://relay.internal.evil.com/v1', false],
    ['https://relay.internal:8443/v1', false],
    ['http://relay.internal/v1', false],
    ['https://a.svc.cluster.local/x', true],
    ['https://a.b.svc.cluster.local/', true],
    ['https://svc.cluster.local/', false],
    ['https://evilsvc.cluster.local/', false],
  ];
  for (const [href, expected] of cases) {
    it(`${expected ? 'allows' : 'does not allow'} ${href}`, () => {
      expect(isAllowlisted(new URL(href), list)).toBe(expected);
    });
  }
});

describe('checkCallerCredentials', () => {
  it('accepts a key-shaped value and a URL', () => {
    expect(codeOf(() => checkCallerCredentials(`sk-test-${randomUUID()}`, 'https://relay.example.com/v1'))).toBeUndefined();
  });
  it('refuses a key over 1 KB, control characters, spaces and non-ASCII, without echoing it', () => {
    const long = `sk-${'a'.repeat(1100)}`;
    for (const key of [long, 'sk-abc\u0001def', 'Bearer sk-abcdef', 'sk-abcdé']) {
      let thrown: unknown;
      try {
        checkCallerCredentials(key, undefined);
      } catch (error) {
        thrown = error;
      }
      expect(SwitchyardError.isInstance(thrown) && thrown.code).toBe('invalid_request');
      expect(JSON.stringify({ m: (thrown as Error).message, h: (thrown as SwitchyardError).hint })).not.toContain(key);
    }
  });
  it('refuses a base URL that is not a URL or too long', () => {
    expect(codeOf(() => checkCallerCredentials(undefined, 'relay.example.com'))).toBe('base_url_forbidden');
    expect(codeOf(() => checkCallerCredentials(undefined, `https://a.example/${'x'.repeat(3000)}`))).toBe('base_url_forbidden');
  });
});
