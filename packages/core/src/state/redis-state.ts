import type { Redis, RedisOptions } from 'ioredis';
import { createLocalQuotas, IN_FLIGHT_RETRY_MS, msUntilUtcMidnight, utcDay } from './local-quotas.js';
import { newInstanceId } from './memory-state.js';
import { BREAKER_LUA, CLAIM_TRIAL_LUA, RELEASE_TRIAL_LUA, RESERVE_LUA, SETTLE_LUA } from './redis-scripts.js';
import type {
  HealthKey,
  QuotaLimitName,
  QuotaSubject,
  RemoteChange,
  Reservation,
  ReserveOutcome,
  SettledUsage,
  SharedBreaker,
  SharedProbe,
  SharedState,
  SharingMode,
  StateStatus,
  StateStatusEvent,
  TrialClaim,
} from './types.js';

/** How to reach Redis and how long to wait for it. */
export interface RedisStateOptions {
  /** `redis://…`, `rediss://…` (TLS); used when no `client` is given. */
  url?: string | undefined;
  /** An ioredis client whose connection settings (TLS, Sentinel, auth) are reused: Switchyard opens its own connections with `duplicate()`. */
  client?: Redis | undefined;
  /** Prefix of every key and of the channel. */
  keyPrefix: string;
  /** Deadline of the commands a request waits for (quota reserve, trial claim): a request never waits longer on Redis. */
  commandTimeoutMs: number;
  /** How often an instance compares its state with Redis, in case a published change was lost. */
  reconcileMs: number;
  /** Deadline of a (re)connection attempt. */
  connectTimeoutMs: number;
  instanceId?: string | undefined;
  /** The clock, for tests. */
  now?: () => number;
}

interface Scripted {
  syReserve(numberOfKeys: number, ...args: Array<string | number>): Promise<[number, string?, number?]>;
  sySettle(numberOfKeys: number, ...args: Array<string | number>): Promise<number>;
  syBreaker(...args: Array<string | number>): Promise<number>;
  syClaimTrial(...args: Array<string | number>): Promise<number>;
  syReleaseTrial(...args: Array<string | number>): Promise<number>;
}

type Client = Redis & Scripted;

/** Budget counters keep yesterday's keys a day longer, then Redis drops them. */
const DAY_TTL_SECONDS = 2 * 86_400;
/** Breaker records of a provider nobody calls any more go away after a week. */
const BREAKER_TTL_SECONDS = 7 * 86_400;
/** While alone because Redis was slow, how often it is asked whether it answers again. */
const PING_MS = 250;
/** ioredis's own `commandTimeout`: the deadline of background commands (reconcile, publish, settle) and a backstop for all. */
const BACKGROUND_TIMEOUT_MS = 2_000;

class DeadlineError extends Error {
  constructor() {
    super('command timed out');
  }
}

/**
 * Settles with the command, or rejects after `ms`. When the timer fires the rejection waits one turn of the event loop
 * (`setImmediate`, after the poll phase): an answer that already sits in the socket wins, so this process's own
 * event-loop lag under load is not taken for a slow Redis.
 */
function withDeadline<T>(command: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new DeadlineError());
      });
    }, ms);
    command.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

const LIMIT_NAMES: ReadonlySet<string> = new Set<QuotaLimitName>(['requestsPerMinute', 'tokensPerDay', 'spendPerDay']);

/** A short reason for the logs: an errno-style code or ioredis's own words; never a URL (it may hold a password). */
function reasonOf(error: unknown): string {
  if (error instanceof DeadlineError) return 'command timed out';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) return code;
  const message = error instanceof Error ? error.message : String(error);
  if (/timed out/i.test(message)) return 'command timed out';
  if (/writeable|closed|connection/i.test(message)) return 'connection lost';
  // A reply error (a script or a server refusing a command) names no key or value of ours beyond hashed names.
  if ((error as { name?: unknown } | null)?.name === 'ReplyError') return `redis error: ${message.slice(0, 120)}`;
  return 'redis error';
}

const keyString = (key: HealthKey) => `${key.cluster}:${key.provider}`;

/**
 * The Redis (or Valkey) state of SPEC §9. Request-path reads stay in memory: breakers, probes and passive health are
 * pushed to the health registry as they change (pub/sub) and pulled by a periodic reconcile. Quotas are one Lua call
 * per request under a command deadline; when Redis is down or slow the instance runs alone on local counters (limits
 * split over the instances last seen) and pushes what it counted when it rejoins.
 */
export function createRedisState(options: RedisStateOptions): SharedState {
  const now = options.now ?? Date.now;
  const instanceId = options.instanceId ?? newInstanceId();
  const prefix = options.keyPrefix;
  const channel = `${prefix}events`;
  const instancesKey = `${prefix}instances`;
  const local = createLocalQuotas();
  const tracked = new Map<string, HealthKey>();
  /**
   * The time of the last breaker change seen per key, so a change is taken once whichever way it arrives, and an older
   * one never undoes a newer. Times, not Redis's version counter: a Redis restarted empty counts versions from 1 again.
   */
  const changedAt = new Map<string, number>();
  /** Breaker transitions made while alone (or whose publish failed): pushed on rejoin, the newest by time winning. */
  const dirty = new Map<string, { key: HealthKey; breaker: SharedBreaker; at: number }>();
  /** Usage counted while alone, per subject and day: added to Redis on rejoin. */
  const pending = new Map<string, { subject: QuotaSubject; day: string; tokens: number; spendMicros: number }>();
  const remoteListeners = new Set<(change: RemoteChange) => void>();
  const statusListeners = new Set<(event: StateStatusEvent) => void>();

  let mode: SharingMode = 'alone';
  let reason: string | undefined = 'connecting';
  let since = now();
  let peers = 1;
  let closed = false;
  let client: Client | undefined;
  let subscriber: Redis | undefined;
  /** Whether the subscriber listens: without it changes go unheard, so the instance is not sharing. */
  let subscribed = false;
  let rejoining: Promise<void> | undefined;
  let reconcileTimer: NodeJS.Timeout | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let resolveReady!: () => void;
  const readyPromise = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  // Start-up never waits longer than a connection attempt: after that the instance serves alone and rejoins later.
  const readyTimer = setTimeout(() => resolveReady(), options.connectTimeoutMs);
  readyTimer.unref();

  function setMode(next: SharingMode, why?: string): void {
    if (mode === next && reason === why) return;
    const previous = mode;
    mode = next;
    reason = why;
    if (previous !== next) since = now();
    const event: StateStatusEvent = { ...status(), previous };
    for (const listener of statusListeners) {
      try {
        listener(event);
      } catch {
        // A failing listener never breaks the state.
      }
    }
  }

  function status(): StateStatus {
    return { store: 'redis', mode, instanceId, since, ...(reason === undefined ? {} : { reason }), peers };
  }

  function emit(change: RemoteChange): void {
    for (const listener of remoteListeners) {
      try {
        listener(change);
      } catch {
        // A failing listener never breaks the state.
      }
    }
  }

  /** A command failed: Redis is gone or slow; serve alone until it answers again. */
  function failed(error: unknown): void {
    if (closed) return;
    const why = reasonOf(error);
    setMode('alone', why);
    // A lost connection comes back through ioredis's reconnect ('ready'); a slow one through our pings.
    if (client?.status === 'ready') startPinging();
  }

  function startPinging(): void {
    if (pingTimer || closed) return;
    pingTimer = setInterval(() => {
      if (!client || client.status !== 'ready' || rejoining) return;
      withDeadline(client.ping(), options.commandTimeoutMs).then(
        () => {
          clearInterval(pingTimer);
          pingTimer = undefined;
          void rejoin();
        },
        () => {},
      );
    }, PING_MS);
    pingTimer.unref();
  }

  const breakerKey = (key: HealthKey) => `${prefix}breaker:${keyString(key)}`;
  const trialKey = (key: HealthKey) => `${prefix}trial:${keyString(key)}`;
  const probeKey = (key: HealthKey) => `${prefix}probe:${keyString(key)}`;
  const rpmKey = (subject: QuotaSubject) => `${prefix}rpm:${subject.id}`;
  const dayKey = (subject: QuotaSubject, day: string) => `${prefix}day:${subject.id}:${day}`;
  const heldKey = (subject: QuotaSubject, day: string) => `${prefix}held:${subject.id}:${day}`;
  const limitArg = (value: number | undefined) => (value === undefined ? -1 : value);
  const hasBudget = (subject: QuotaSubject) => subject.limits.tokensPerDay !== undefined || subject.limits.spendMicrosPerDay !== undefined;

  function adoptBreaker(key: HealthKey, at: number, fields: { state: unknown; openedAt: unknown; retryAt: unknown; failures: unknown }): void {
    const id = keyString(key);
    if (!Number.isFinite(at) || at <= (changedAt.get(id) ?? 0)) return;
    changedAt.set(id, at);
    const open = fields.state === 'open';
    emit({
      type: 'breaker',
      key,
      breaker: {
        open,
        openedAt: open ? Number(fields.openedAt) : undefined,
        retryAt: open ? Number(fields.retryAt) : undefined,
        consecutiveFailures: Number(fields.failures) || 0,
      },
    });
  }

  function onMessage(_channel: string, message: string): void {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(message) as Record<string, unknown>;
    } catch {
      return;
    }
    if (data.by === instanceId || typeof data.cluster !== 'string' || typeof data.provider !== 'string') return;
    const key = { cluster: data.cluster, provider: data.provider };
    if (!tracked.has(keyString(key))) return;
    if (data.type === 'breaker') adoptBreaker(key, Number(data.at), data as { state: unknown; openedAt: unknown; retryAt: unknown; failures: unknown });
    else if (data.type === 'probe' && typeof data.probe === 'object' && data.probe !== null) {
      emit({ type: 'probe', key, probe: data.probe as SharedProbe, expiresAt: Number(data.expiresAt) });
    } else if (data.type === 'success') emit({ type: 'success', key, at: Number(data.at) });
  }

  /** Reads every tracked breaker and probe and the live instances; takes what changed. */
  async function reconcile(): Promise<void> {
    if (!client) return;
    const at = now();
    const keys = [...tracked.values()];
    const pipeline = client.pipeline();
    pipeline.zadd(instancesKey, at, instanceId);
    pipeline.zremrangebyscore(instancesKey, '-inf', at - 3 * options.reconcileMs);
    pipeline.zcard(instancesKey);
    pipeline.expire(instancesKey, Math.ceil((3 * options.reconcileMs) / 1000) + 60);
    for (const key of keys) {
      pipeline.hmget(breakerKey(key), 'at', 'state', 'openedAt', 'retryAt', 'failures');
      pipeline.get(probeKey(key));
      pipeline.pttl(probeKey(key));
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
    peers = Math.max(1, Number(results[2]?.[1]) || 1);
    keys.forEach((key, index) => {
      const base = 4 + index * 3;
      const breaker = results[base]?.[1] as Array<string | null> | undefined;
      if (breaker?.[0]) adoptBreaker(key, Number(breaker[0]), { state: breaker[1], openedAt: breaker[2], retryAt: breaker[3], failures: breaker[4] });
      const probe = results[base + 1]?.[1] as string | null | undefined;
      const ttl = Number(results[base + 2]?.[1]);
      if (probe && ttl > 0) {
        try {
          emit({ type: 'probe', key, probe: JSON.parse(probe) as SharedProbe, expiresAt: at + ttl });
        } catch {
          // A record this version cannot read is left for the next writer.
        }
      }
    });
  }

  /** Back in touch: push what changed while alone, pull what others changed, then share again. */
  function rejoin(): Promise<void> {
    if (closed || !client || client.status !== 'ready' || !subscribed) return Promise.resolve();
    rejoining ??= (async () => {
      const scripted = client as Client;
      try {
        for (const [id, change] of dirty) {
          await publishBreakerNow(change.key, change.breaker, change.at);
          dirty.delete(id);
        }
        for (const [id, usage] of pending) {
          const keys = [usage.subject].flatMap((subject) => [dayKey(subject, usage.day), heldKey(subject, usage.day)]);
          await scripted.sySettle(keys.length, ...keys, '-', usage.tokens, usage.spendMicros, DAY_TTL_SECONDS);
          pending.delete(id);
        }
        await reconcile();
        setMode('shared');
        resolveReady();
      } catch (error) {
        failed(error);
      } finally {
        rejoining = undefined;
      }
    })();
    return rejoining;
  }

  function scheduleReconcile(): void {
    if (closed) return;
    // Jittered, so many instances started together do not reconcile in step.
    const delay = options.reconcileMs * (0.8 + 0.4 * Math.random());
    reconcileTimer = setTimeout(() => {
      if (mode === 'shared') reconcile().catch(failed);
      scheduleReconcile();
    }, delay);
    reconcileTimer.unref();
  }

  /** Writes and publishes a transition; when Redis kept a newer one (the script answers 0) the next reconcile takes it. */
  async function publishBreakerNow(key: HealthKey, breaker: SharedBreaker, at: number): Promise<void> {
    await (client as Client).syBreaker(
      breakerKey(key),
      trialKey(key),
      breaker.open ? 'open' : 'closed',
      breaker.open ? (breaker.openedAt ?? at) : 0,
      breaker.open ? (breaker.retryAt ?? at) : 0,
      breaker.consecutiveFailures,
      at,
      instanceId,
      channel,
      key.cluster,
      key.provider,
      BREAKER_TTL_SECONDS,
    );
  }

  function connect(redis: typeof import('ioredis').Redis | undefined): void {
    if (closed) return;
    const common: RedisOptions = {
      connectTimeout: options.connectTimeoutMs,
      // Reconnect fast at first, then once a second, for ever: an instance rejoins by itself.
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
      lazyConnect: false,
    };
    const commandOptions: RedisOptions = {
      ...common,
      commandTimeout: Math.max(BACKGROUND_TIMEOUT_MS, options.commandTimeoutMs),
      // Fail at once when not connected rather than queue: a request falls back to local state instead of waiting.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A reserve or settle sent before a disconnect is never replayed after it (it may have been applied).
      autoResendUnfulfilledCommands: false,
      enableAutoPipelining: true,
      connectionName: 'switchyard',
    };
    // Subscribed again by hand on every connection, so the instance shares again only once it hears changes.
    const subscriberOptions: RedisOptions = { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: false, connectionName: 'switchyard-events' };
    const make = (settings: RedisOptions): Redis => {
      if (options.client) return options.client.duplicate(settings);
      if (!redis) throw new Error('ioredis is not loaded');
      return new redis(options.url as string, settings);
    };
    client = make(commandOptions) as Client;
    client.defineCommand('syReserve', { lua: RESERVE_LUA });
    client.defineCommand('sySettle', { lua: SETTLE_LUA });
    client.defineCommand('syBreaker', { lua: BREAKER_LUA, numberOfKeys: 2 });
    client.defineCommand('syClaimTrial', { lua: CLAIM_TRIAL_LUA, numberOfKeys: 2 });
    client.defineCommand('syReleaseTrial', { lua: RELEASE_TRIAL_LUA, numberOfKeys: 1 });
    client.on('ready', () => void rejoin());
    client.on('error', () => {
      // Reported through 'close' and failed commands; without a listener ioredis would print every attempt.
    });
    client.on('close', () => {
      if (!closed) setMode('alone', 'connection lost');
    });
    const listener = make(subscriberOptions);
    subscriber = listener;
    listener.on('error', () => {});
    listener.on('message', onMessage);
    // Messages sent while the subscriber was away are lost: the rejoin reconciles.
    listener.on('ready', () => {
      listener.subscribe(channel).then(
        () => {
          subscribed = true;
          void rejoin();
        },
        (error: unknown) => failed(error),
      );
    });
    listener.on('close', () => {
      subscribed = false;
      if (!closed) setMode('alone', 'connection lost');
    });
    scheduleReconcile();
  }

  if (options.client) connect(undefined);
  else {
    // Loaded only when Redis is configured: single-process users never pay for it.
    import('ioredis').then(
      (module) => connect(module.Redis),
      (error: unknown) => setMode('alone', `ioredis could not be loaded: ${reasonOf(error)}`),
    );
  }

  const shared = () => mode === 'shared' && client !== undefined;

  function addPending(reservation: Reservation, usage: SettledUsage): void {
    for (const subject of reservation.subjects) {
      if (!hasBudget(subject)) continue;
      const id = `${subject.id}|${reservation.day}`;
      const entry = pending.get(id) ?? { subject, day: reservation.day, tokens: 0, spendMicros: 0 };
      entry.tokens += usage.tokens;
      entry.spendMicros += usage.spendMicros;
      pending.set(id, entry);
    }
  }

  return {
    store: 'redis',
    instanceId,
    status,
    ready: () => readyPromise,
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },

    track(key) {
      tracked.set(keyString(key), key);
    },
    onRemote(listener) {
      remoteListeners.add(listener);
      return () => remoteListeners.delete(listener);
    },
    publishBreaker(key, breaker, at) {
      // From now on nothing older than this change is taken, not even a reconcile already on its way back.
      changedAt.set(keyString(key), Math.max(at, changedAt.get(keyString(key)) ?? 0));
      if (!shared()) {
        dirty.set(keyString(key), { key, breaker, at });
        return;
      }
      publishBreakerNow(key, breaker, at).catch((error: unknown) => {
        dirty.set(keyString(key), { key, breaker, at });
        failed(error);
      });
    },
    claimTrial(key, ttlMs): TrialClaim | Promise<TrialClaim> {
      if (!shared()) return { outcome: 'granted' };
      const scripted = client as Client;
      const sent = scripted.syClaimTrial(breakerKey(key), trialKey(key), instanceId, Math.max(1, Math.round(ttlMs)), now());
      return withDeadline(sent, options.commandTimeoutMs).then(
        (answer): TrialClaim => {
          if (answer === -1) return { outcome: 'granted' };
          if (answer === -2) return { outcome: 'closed' };
          return { outcome: 'taken', waitMs: Number(answer) };
        },
        (error: unknown): TrialClaim => {
          failed(error);
          if (error instanceof DeadlineError) {
            // A claim granted after we stopped waiting would hold the trial for nobody: give it back.
            sent.then((answer): unknown => answer === -1 && scripted.syReleaseTrial(trialKey(key), instanceId), () => {}).catch(() => {});
            // Another instance may hold the trial: not this time. Alone from now on, the next call decides here.
            return { outcome: 'taken', waitMs: 0 };
          }
          // Nobody to ask: this instance decides alone, as it would without Redis.
          return { outcome: 'granted' };
        },
      );
    },
    releaseTrial(key) {
      if (shared()) (client as Client).syReleaseTrial(trialKey(key), instanceId).catch(failed);
    },
    publishProbe(key, probe, ttlMs) {
      if (!shared()) return;
      const expiresAt = now() + ttlMs;
      const message = JSON.stringify({ type: 'probe', cluster: key.cluster, provider: key.provider, probe, expiresAt, by: instanceId });
      (client as Client)
        .multi()
        .set(probeKey(key), JSON.stringify(probe), 'PX', Math.max(1, Math.round(ttlMs)))
        .publish(channel, message)
        .exec()
        .catch(failed);
    },
    publishSuccess(key, at) {
      if (!shared()) return;
      (client as Client).publish(channel, JSON.stringify({ type: 'success', cluster: key.cluster, provider: key.provider, at, by: instanceId })).catch(failed);
    },

    reserve(request): ReserveOutcome | Promise<ReserveOutcome> {
      if (!shared()) return local.reserve(request, peers);
      const day = utcDay(request.now);
      const keys: string[] = [];
      const limits: Array<number | string> = [];
      for (const subject of request.subjects) {
        keys.push(rpmKey(subject), dayKey(subject, day), heldKey(subject, day));
        limits.push(limitArg(subject.limits.requestsPerMinute), limitArg(subject.limits.tokensPerDay), limitArg(subject.limits.spendMicrosPerDay));
      }
      const args = [request.now, request.id, request.tokens, request.spendMicros, Math.round(request.ttlMs), DAY_TTL_SECONDS, msUntilUtcMidnight(request.now), IN_FLIGHT_RETRY_MS, ...limits];
      const scripted = client as Client;
      const sent = scripted.syReserve(keys.length, ...keys, ...args);
      return withDeadline(sent, options.commandTimeoutMs).then(
        ([index, limit, retryAfterMs]): ReserveOutcome => {
          if (index === -1) {
            return { ok: true, reservation: { id: request.id, subjects: request.subjects, day, tokens: request.tokens, spendMicros: request.spendMicros, where: 'shared' } };
          }
          const subject = request.subjects[index] as QuotaSubject;
          const name = (LIMIT_NAMES.has(String(limit)) ? limit : 'requestsPerMinute') as QuotaLimitName;
          const value = name === 'requestsPerMinute' ? subject.limits.requestsPerMinute : name === 'tokensPerDay' ? subject.limits.tokensPerDay : subject.limits.spendMicrosPerDay;
          return { ok: false, subject, limit: name, value: value ?? 0, retryAfterMs: Number(retryAfterMs) || 0 };
        },
        (error: unknown) => {
          if (error instanceof DeadlineError && request.subjects.some(hasBudget)) {
            // Made after we stopped waiting: hand back what it holds (its minute's count stays, on the safe side).
            const held = request.subjects.filter(hasBudget).flatMap((subject) => [dayKey(subject, day), heldKey(subject, day)]);
            sent.then(([index]): unknown => index === -1 && scripted.sySettle(held.length, ...held, request.id, 0, 0, DAY_TTL_SECONDS), () => {}).catch(() => {});
          }
          failed(error);
          return local.reserve(request, peers);
        },
      );
    },
    settle(reservation, usage) {
      if (reservation.where === 'local') local.settle(reservation, usage);
      if (!reservation.subjects.some(hasBudget)) return;
      if (!shared()) {
        addPending(reservation, usage);
        return;
      }
      const keys = reservation.subjects.filter(hasBudget).flatMap((subject) => [dayKey(subject, reservation.day), heldKey(subject, reservation.day)]);
      // A local reservation's usage goes to Redis as usage only: it never held anything there.
      const id = reservation.where === 'shared' ? reservation.id : '-';
      (client as Client).sySettle(keys.length, ...keys, id, usage.tokens, usage.spendMicros, DAY_TTL_SECONDS).catch((error: unknown) => {
        // A timed-out settle may have been applied: counting it again would double it; a refused one was not.
        if (reasonOf(error) !== 'command timed out') addPending(reservation, usage);
        failed(error);
      });
    },

    async close() {
      closed = true;
      clearTimeout(readyTimer);
      clearTimeout(reconcileTimer);
      clearInterval(pingTimer);
      resolveReady();
      const connections = [client, subscriber].filter((connection): connection is Redis => connection !== undefined);
      if (client?.status === 'ready') await client.zrem(instancesKey, instanceId).catch(() => {});
      await Promise.all(connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
    },
  };
}
