/**
 * Preloaded (`node --require`) into a client process a test runs, such as Claude Code: the process may reach loopback
 * only. Every other name lookup or connection is refused, as on a machine without a network, and written to the file
 * named by SWITCHYARD_OFFLINE_LOG, one line each, so the test can show what the client tried.
 */
'use strict';
const dns = require('node:dns');
const fs = require('node:fs');
const net = require('node:net');
const { syncBuiltinESMExports } = require('node:module');

const LOG = process.env.SWITCHYARD_OFFLINE_LOG;
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function isLoopback(host) {
  if (typeof host !== 'string' || host === '') return true; // Node's default host is localhost.
  if (LOOPBACK_NAMES.has(host)) return true;
  return net.isIPv4(host) && host.startsWith('127.');
}

function record(kind, target) {
  if (LOG) fs.appendFileSync(LOG, `${kind} ${target}\n`);
}

function refusal(host) {
  const error = new Error(`getaddrinfo ENOTFOUND ${host} (offline: only loopback is reachable here)`);
  error.code = 'ENOTFOUND';
  error.hostname = host;
  return error;
}

const lookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, options, callback) {
  const done = typeof options === 'function' ? options : callback;
  if (isLoopback(hostname)) return lookup.apply(this, arguments);
  record('lookup', hostname);
  process.nextTick(() => done(refusal(hostname)));
  return {};
};
const promisesLookup = dns.promises.lookup;
dns.promises.lookup = function guardedPromisesLookup(hostname, ...rest) {
  if (isLoopback(hostname)) return promisesLookup.call(this, hostname, ...rest);
  record('lookup', hostname);
  return Promise.reject(refusal(hostname));
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  // net.connect() hands over [options, callback] already normalized; a direct call passes (options | port, host?, callback?).
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = typeof first === 'object' && first !== null ? first : { port: first, host: typeof args[1] === 'string' ? args[1] : undefined };
  if (typeof options.path === 'string' || isLoopback(options.host)) return connect.apply(this, args);
  record('connect', `${options.host}:${options.port}`);
  process.nextTick(() => this.destroy(refusal(options.host)));
  return this;
};

syncBuiltinESMExports();
