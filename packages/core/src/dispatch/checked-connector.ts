import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { redactSecrets } from '../redact.js';
import { ipFamily, isRefusedAddress, unbracket } from './address-policy.js';
import { baseUrlForbidden } from './base-url-policy.js';

/** A connection about to be opened to a caller-chosen origin, after its addresses passed the policy. */
export interface ConnectTarget {
  /** The host name as the URL names it (SNI and `Host` keep it). */
  hostname: string;
  /** The port to connect to. */
  port: number;
  /** The checked addresses the socket will connect to, and no others. */
  addresses: readonly LookupAddress[];
}

/** Sees every checked connection before its socket connects; throwing refuses the connection with that error. */
export type ConnectHook = (target: ConnectTarget) => void;

export interface CheckedConnectorOptions {
  /** Replaces DNS resolution (tests). */
  lookup?: LookupFunction | undefined;
  /** Connect timeout, in ms. */
  timeoutMs: number;
  hooks: ReadonlySet<ConnectHook>;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

// The host is named (it helps the caller), through redaction: a caller may have pasted a key anywhere in the URL.
const refusedMessage = (hostname: string) =>
  `X-LLM-Base-Url host "${redactSecrets(hostname.slice(0, 253))}" resolves to a loopback, private, link-local or otherwise internal address.`;

function runHooks(hooks: ReadonlySet<ConnectHook>, target: ConnectTarget): void {
  for (const hook of hooks) hook(target);
}

/** Resolves every address of a name, through the injected lookup or the system resolver. */
function resolveAll(lookup: LookupFunction, hostname: string, family: number, done: (error: Error | null, addresses: LookupAddress[]) => void): void {
  lookup(hostname, { all: true, family }, ((error: Error | null, result: string | LookupAddress[], resultFamily?: number) => {
    if (error) return done(error, []);
    if (Array.isArray(result)) return done(null, result);
    done(null, typeof result === 'string' ? [{ address: result, family: resultFamily ?? ipFamily(result) }] : []);
  }) as Parameters<LookupFunction>[2]);
}

/**
 * Builds the lookup handed to the socket of a caller-chosen origin: it resolves the name once, refuses the whole
 * connection if ANY address lies in a refused range, and gives the socket only the addresses it checked. The socket
 * never resolves again, so a DNS answer that changes between check and connect (rebinding) finds nothing.
 */
function checkingLookup(resolver: LookupFunction, hooks: ReadonlySet<ConnectHook>, port: () => number): LookupFunction {
  return ((hostname: string, options: { family?: number | string; all?: boolean }, callback: LookupCallback) => {
    // Read now: the socket calls this synchronously from inside the connect call that set the port.
    const atPort = port();
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : typeof options.family === 'number' ? options.family : 0;
    resolveAll(resolver, hostname, family, (error, addresses) => {
      if (error) return callback(error as NodeJS.ErrnoException, []);
      if (addresses.length === 0) {
        return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      }
      if (addresses.some((entry) => isRefusedAddress(entry.address))) return callback(baseUrlForbidden(refusedMessage(hostname)) as unknown as NodeJS.ErrnoException, []);
      const checked = addresses.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
      try {
        runHooks(hooks, { hostname, port: atPort, addresses: checked });
      } catch (vetoed) {
        return callback(vetoed as NodeJS.ErrnoException, []);
      }
      const first = checked[0] as LookupAddress;
      if (options.all) callback(null, checked);
      else callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}

/**
 * The undici connector for caller-chosen origins. Every new connection is checked here, below every route and
 * client: an IP literal against the refused ranges, a name by resolving it and checking every address. What passes
 * is what the socket connects to, with the host name kept for TLS (SNI, certificate) and `Host`.
 */
export function createCheckedConnector(options: CheckedConnectorOptions): buildConnector.connector {
  const resolver = options.lookup ?? (dnsLookup as unknown as LookupFunction);
  // The lookup runs synchronously inside the connect call below, so it can read the port of that call.
  let currentPort = 443;
  const connect = buildConnector({ timeout: options.timeoutMs, lookup: checkingLookup(resolver, options.hooks, () => currentPort) });
  return function checkedConnect(target, callback) {
    const hostname = unbracket(target.hostname);
    const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
    if (target.protocol !== 'https:') {
      callback(baseUrlForbidden('X-LLM-Base-Url must use https.'), null);
      return;
    }
    const family = ipFamily(hostname);
    if (family !== 0) {
      // The socket skips the lookup for an IP literal: check it here.
      if (isRefusedAddress(hostname)) {
        callback(baseUrlForbidden(refusedMessage(hostname)), null);
        return;
      }
      try {
        runHooks(options.hooks, { hostname, port, addresses: [{ address: hostname, family }] });
      } catch (vetoed) {
        callback(vetoed as Error, null);
        return;
      }
    }
    currentPort = port;
    connect(target, callback);
  };
}
