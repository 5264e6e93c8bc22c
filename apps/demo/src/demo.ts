import compression from 'compression';
import express, { type Express } from 'express';
import Koa from 'koa';
import koaCompress from 'koa-compress';
import { pino, type Logger } from 'pino';
import { createSwitchyard, hasOperatorKey, optionsFromEnv, resolveConfig, type Switchyard, type SwitchyardOptions } from '@switchyard/core';
import { switchyard as expressSwitchyard } from '@switchyard/express';
import { switchyard as koaSwitchyard } from '@switchyard/koa';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';

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
  logger: Logger;
  close(): Promise<void>;
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
  const logger = pino(
    {
      level: env.LOG_LEVEL ?? 'info',
      base: undefined,
      // Belt and braces: request log entries never carry keys, but nothing that looks like one may pass either.
      redact: { paths: ['*.headers.authorization', '*.headers["x-llm-api-key"]', 'apiKey', '*.apiKey'], censor: '[redacted]' },
    },
    options.logDestination ?? process.stdout,
  );
  const routerOptions: SwitchyardOptions = optionsFromEnv(env);
  let sandbox: TestUpstream | undefined;
  if (!hasOperatorKey(resolveConfig(routerOptions))) {
    sandbox = await startTestUpstream({ host: '127.0.0.1', port: 0, models: ['sandbox-echo', 'sandbox-echo-pro', 'sandbox-embedding'] });
    routerOptions.providers = { ...routerOptions.providers, sandbox: sandboxProvider(sandbox.url) };
    routerOptions.defaultProviders = ['sandbox'];
  }
  routerOptions.onRequest = (entry) => logger.info(entry, 'request');
  const instance = createSwitchyard(routerOptions);

  const expressApp = express();
  expressApp.disable('x-powered-by');
  expressApp.use(compression());
  expressApp.use(expressSwitchyard(instance));
  expressApp.get('/healthz', (_req, res) => {
    res.json({ ok: true, app: 'express' });
  });

  const koaApp = new Koa();
  koaApp.use(koaCompress());
  koaApp.use(koaSwitchyard(instance));
  koaApp.use(async (ctx, next) => {
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
    async close() {
      await instance.close();
      await sandbox?.close();
    },
  };
}
