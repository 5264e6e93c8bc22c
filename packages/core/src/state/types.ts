/**
 * The state a Switchyard keeps beyond one request (SPEC §9): breakers, passive health and probe results per
 * (cluster, provider), and quota counters per app token and per caller. In memory for one process; shared through
 * Redis by many. Plain data only: the layers above (reachability, http) map their own types onto these.
 */

/** Where the state lives: this process only, or Redis (or Valkey) shared by every instance. */
export type StateStore = 'memory' | 'redis';

/**
 * How an instance stands: `local` (in-process state, by configuration), `shared` (through Redis), or `alone`
 * (Redis is configured but unreachable or slow: the instance serves on its own state until it rejoins).
 */
export type SharingMode = 'local' | 'shared' | 'alone';

/** The state's standing, for `/api/providers`, logs and metrics. */
export interface StateStatus {
  store: StateStore;
  mode: SharingMode;
  /** This instance's id in Redis (random per process; never derived from anything a caller sent). */
  instanceId: string;
  /** Epoch ms of the last change of `mode`. */
  since: number;
  /** Why the instance is alone (`connecting`, `connection lost`, `command timed out`, …); absent otherwise. */
  reason?: string | undefined;
  /** Instances seen alive in Redis at the last reconcile (this one included); 1 when local. */
  peers: number;
}

/** A change of standing, for the operator's logs. */
export interface StateStatusEvent extends StateStatus {
  /** The mode before the change. */
  previous: SharingMode;
}

/** What breakers, probes and passive health are shared per: one provider as seen from one cluster. */
export interface HealthKey {
  cluster: string;
  provider: string;
}

/** A breaker as instances share it: open (when, and when it lets a trial through) or closed. */
export interface SharedBreaker {
  open: boolean;
  openedAt?: number | undefined;
  retryAt?: number | undefined;
  consecutiveFailures: number;
}

/** A probe result as instances share it (the fields of `ProbeResult`; no key, no body). */
export interface SharedProbe {
  status: string;
  latencyMs: number;
  checkedAt: number;
  steps: Record<string, number>;
  failedStep?: string | undefined;
  httpStatus?: number | undefined;
  detail?: string | undefined;
}

/** A change another instance made, delivered by pub/sub or found by a reconcile. */
export type RemoteChange =
  | { type: 'breaker'; key: HealthKey; breaker: SharedBreaker }
  | { type: 'probe'; key: HealthKey; probe: SharedProbe; expiresAt: number }
  | { type: 'success'; key: HealthKey; at: number };

/**
 * The answer to a claim of a half-open trial: `granted` (this instance runs it), `taken` (another instance runs it,
 * or the circuit re-opened there; ask again after `waitMs`), or `closed` (another instance's trial already closed it).
 */
export type TrialClaim = { outcome: 'granted' } | { outcome: 'closed' } | { outcome: 'taken'; waitMs: number };

/** Limits of one kind of subject as the operator writes them: spend in USD. */
export interface QuotaLimitSettings {
  requestsPerMinute?: number | undefined;
  tokensPerDay?: number | undefined;
  /** USD per UTC day, from the price table. */
  spendPerDay?: number | undefined;
}

/** The quotas of SPEC §9, after validation. */
export interface QuotaSettings {
  /** Limits of each app token (`Authorization: Bearer`), when app tokens are configured. */
  appToken?: QuotaLimitSettings | undefined;
  /** Limits of each caller key (`X-LLM-Api-Key`), known by a keyed hash. */
  caller?: QuotaLimitSettings | undefined;
  /** The HMAC secret tokens and keys are hashed with; instances sharing Redis need the same one. */
  secret?: string | undefined;
  /** Output tokens reserved for a request that sets no `max_tokens` (or `max_completion_tokens`, `max_output_tokens`). */
  defaultOutputTokens: number;
  /** A reservation never settled (the process died mid-call) is reclaimed after this long. */
  reservationTtlMs: number;
}

/** Limits of one subject (an app token, or a caller). Spend in micro-USD, so counters stay integers. */
export interface QuotaLimits {
  requestsPerMinute?: number | undefined;
  tokensPerDay?: number | undefined;
  spendMicrosPerDay?: number | undefined;
}

/** Who a limit applies to: a keyed hash of the app token or caller key (never the token or key itself). */
export interface QuotaSubject {
  kind: 'appToken' | 'caller';
  /** `a.<hash>` or `c.<hash>`: HMAC-SHA-256 with the operator's secret, base64url, 128 bits. */
  id: string;
  limits: QuotaLimits;
}

/** A reservation to make before an upstream call. */
export interface ReserveRequest {
  /** Unique per request: the instance id and a counter. */
  id: string;
  subjects: readonly QuotaSubject[];
  /** Estimated tokens and spend of the call. */
  tokens: number;
  spendMicros: number;
  now: number;
  /** A reservation that is never settled is reclaimed this long after it was made. */
  ttlMs: number;
}

/** Which limit refused a request. */
export type QuotaLimitName = 'requestsPerMinute' | 'tokensPerDay' | 'spendPerDay';

/** What a reservation held; settled once the request is over. */
export interface Reservation {
  id: string;
  subjects: readonly QuotaSubject[];
  /** UTC day the reservation counts in (`YYYYMMDD`). */
  day: string;
  tokens: number;
  spendMicros: number;
  /** Where it was made: settled there (Redis), or in this process. */
  where: 'shared' | 'local';
}

/** A reservation made, or the limit that refused it and when to retry. */
export type ReserveOutcome =
  | { ok: true; reservation: Reservation }
  | { ok: false; subject: QuotaSubject; limit: QuotaLimitName; retryAfterMs: number; value: number };

/** The real usage of a request, settled against its reservation. */
export interface SettledUsage {
  tokens: number;
  spendMicros: number;
}

/**
 * The state interface. Reads on the request path come from memory; the Redis implementation carries changes between
 * instances (publish, plus a periodic reconcile) and never makes a request wait more than its command deadline.
 */
export interface SharedState {
  readonly store: StateStore;
  /** This instance's id (random per process). */
  readonly instanceId: string;
  /** Whether it shares state through Redis right now, or runs alone. */
  status(): StateStatus;
  /** Resolves once the state has joined (Redis) or is known to be alone for now; never rejects. */
  ready(): Promise<void>;
  /** Called on every change of standing; returns an unsubscribe function. */
  onStatus(listener: (event: StateStatusEvent) => void): () => void;

  /** Registers a (cluster, provider) to share, so reconciles look at it. */
  track(key: HealthKey): void;
  /** Called for every change another instance made; returns an unsubscribe function. */
  onRemote(listener: (change: RemoteChange) => void): () => void;
  /** Publishes a breaker transition of this instance (fire and forget). */
  publishBreaker(key: HealthKey, breaker: SharedBreaker, at: number): void;
  /** Claims the one half-open trial across instances. Synchronous when there is no one to ask. */
  claimTrial(key: HealthKey, ttlMs: number): TrialClaim | Promise<TrialClaim>;
  /** Gives a claimed trial back unused (the call was cancelled). */
  releaseTrial(key: HealthKey): void;
  /** Publishes a probe result, fresh for `ttlMs`. */
  publishProbe(key: HealthKey, probe: SharedProbe, ttlMs: number): void;
  /** Publishes that a call succeeded (passive health that contradicts a blocking probe). */
  publishSuccess(key: HealthKey, at: number): void;

  /** Reserves an estimate against every subject's limits, atomically across instances. */
  reserve(request: ReserveRequest): ReserveOutcome | Promise<ReserveOutcome>;
  /** Settles a reservation with the real usage (fire and forget). */
  settle(reservation: Reservation, usage: SettledUsage): void;

  /** Stops reconciling and closes its connections. */
  close(): Promise<void>;
}
