import compression from 'compression';
import express, { type Express } from 'express';
import Koa from 'koa';
import koaCompress from 'koa-compress';
import { pino, type Logger } from 'pino';
import { createSwitchyard, hasOperatorKey, optionsFromEnv, redactLogEntry, redactSecrets, resolveConfig, type Switchyard, type SwitchyardOptions, type UpgradeServer } from '@switchyard/core';
import { switchyard as expressSwitchyard } from '@switchyard/express';
import { switchyard as koaSwitchyard } from '@switchyard/koa';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { loadPage } from './page.js';

export interface DemoOptions {
  env?: Record<string, string | undefined>;
  /** Where log lines go (default stdout). */
  logDestination?: NodeJS.WritableStream;
}

export interface Demo {
  switchyard: Switchyard;
  expressApp: Express;
  koaApp: Koa;
  /** The embedded sandbox upstream, when no operator key is configured. */
  sandbox: TestUpstream | undefined;
  /** Serves the WebSocket chat on a server of either app (the middleware's `attach`); returns a detach function. */
  attach(server: UpgradeServer): () => void;
  logger: Logger;
  close(): Promise<void>;
}

// Header paths a key or credential travels in, wherever a request or headers object is logged.
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-llm-api-key', 'api-key', 'x-api-key', 'proxy-authorization'];
const REDACT_PATHS = [
  ...CREDENTIAL_HEADERS.flatMap((name) => [`headers["${name}"]`, `*.headers["${name}"]`]),
  'apiKey',
  '*.apiKey',
];

/**
 * The demo's logger: one JSON line per call. Request log entries never carry keys; on top of that pino drops
 * credential headers by path, and every string of every line goes through `redactSecrets` (keys, `llm_api_key`
 * query values, `Bearer` tokens).
 */
export function createDemoLogger(level: string, destination: NodeJS.WritableStream, options: { entriesRedacted?: boolean } = {}): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Switchyard's request entries arrive redacted already (with the caller's own key as well); walking them again
      // would cost a few per cent of a request for nothing. Every other line is walked.
      ...(options.entriesRedacted ? {} : { formatters: { log: (object: Record<string, unknown>) => redactLogEntry(object) } }),
      hooks: {
        // The message string of a line too (`logger.info(entry, message)`).
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    destination as Parameters<typeof pino>[1],
  );
}

/** The sandbox provider: the embedded testkit upstream, deterministic and offline. */
function sandboxProvider(url: string) {
  return {
    label: 'Sandbox (offline echo)',
    baseUrl: url,
    auth: 'none' as const,
    clusters: ['global' as const, 'cn' as const],
    tiers: { general: ['sandbox-echo'], expert: ['sandbox-echo-pro'], embedding: ['sandbox-embedding'] },
    aliases: { echo: 'general' },
  };
}

/** Builds the demo from the environment of SPEC §8: one Switchyard shared by an Express app and a Koa app. */
export async function createDemo(options: DemoOptions = {}): Promise<Demo> {
  const env = options.env ?? process.env;
  const logger = createDemoLogger(env.LOG_LEVEL ?? 'info', options.logDestination ?? process.stdout);
  const routerOptions: SwitchyardOptions = optionsFromEnv(env);
  let sandbox: TestUpstream | undefined;
  if (!hasOperatorKey(resolveConfig(routerOptions))) {
    sandbox = await startTestUpstream({ host: '127.0.0.1', port: 0, models: ['sandbox-echo', 'sandbox-echo-pro', 'sandbox-embedding'] });
    routerOptions.providers = { ...routerOptions.providers, sandbox: sandboxProvider(sandbox.url) };
    routerOptions.defaultProviders = ['sandbox'];
  }
  const requestLogger = createDemoLogger(env.LOG_LEVEL ?? 'info', options.logDestination ?? process.stdout, { entriesRedacted: true });
  routerOptions.onRequest = (entry) => requestLogger.info(entry, 'request');
  // The page's WebSocket switch: a browser cannot set headers on a socket, so its credentials come in the query.
  routerOptions.queryCredentials = true;
  // SPEC §9: say in the logs when this instance runs alone (Redis unreachable or slow) and when it rejoins.
  routerOptions.onStateChange = (event) => {
    const line = { state: event.mode, previous: event.previous, reason: event.reason, instance: event.instanceId, peers: event.peers };
    if (event.mode === 'alone') logger.warn(line, 'shared state: running alone');
    else logger.info(line, 'shared state: joined');
  };
  const instance = createSwitchyard(routerOptions);
  // Serve on shared state from the first request when Redis answers; never wait longer than one connection attempt.
  await instance.ready();

  const expressApp = express();
  expressApp.disable('x-powered-by');
  // Switchyard's answers are SSE (never compressed) or small JSON: they are served before compression, which then
  // only wraps the page. Installed in front instead, it works too (tests/integration/streaming.test.ts), at a cost.
  const middleware = expressSwitchyard(instance);
  expressApp.use(middleware);
  expressApp.use(compression());
  const page = loadPage();
  expressApp.use((req, res, next) => {
    const file = req.method === 'GET' || req.method === 'HEAD' ? page(req.path) : undefined;
    if (!file) return next();
    res.set(file.headers).send(file.body);
  });
  expressApp.get('/healthz', (_req, res) => {
    res.json({ ok: true, app: 'express' });
  });

  const koaApp = new Koa();
  koaApp.use(koaSwitchyard(instance));
  koaApp.use(koaCompress());
  koaApp.use(async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? page(ctx.path) : undefined;
    if (file) {
      ctx.set(file.headers);
      ctx.body = file.body;
      return;
    }
    if (ctx.path === '/healthz') {
      ctx.body = { ok: true, app: 'koa' };
      return;
    }
    await next();
  });

  return {
    switchyard: instance,
    expressApp,
    koaApp,
    sandbox,
    logger,
    attach: middleware.attach,
    async close() {
      await instance.close();
      await sandbox?.close();
    },
  };
}
