// Configuration comes from the environment only; every default is documented in the README.
export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  /** Where a CDR file's import spills its matched records until they are rated (its own directory in it); unset: the OS's temporary directory. */
  spillDir: string | undefined;
  clock: 'real' | 'simulated';
  adminPassword: string | undefined;
  logLevel: string;
  /** Lifetime of an operator's bearer token, in seconds. */
  tokenTtlSeconds: number;
  /** Pool size for PostgreSQL. */
  poolSize: number;
  /** Take the client address from X-Forwarded-For (only behind a trusted reverse proxy). */
  trustProxy: boolean;
  /** Key sealing card data Ki/OPc (64 hex digits); unset: a key file in the data directory. */
  kiKey: string | undefined;
  /** Key sealing card write scripts for the card readers (64 hex digits); unset: a per-process key. */
  cardTransportKey: string | undefined;
  /** R-INT-1 outbox relay: sinks, retries and its loop inside `serve`. */
  relay: RelayConfig;
}

/** The outbox relay's settings (README "Events"). */
export interface RelayConfig {
  /** OPENBOSS_WEBHOOK_URL: one or more http(s) URLs, comma separated; each is a sink (`webhook`, `webhook2`, …). */
  webhookUrls: string[];
  /** OPENBOSS_WEBHOOK_SECRET: key of the HMAC-SHA256 signature header; unset: requests are not signed. */
  webhookSecret: string | undefined;
  /** OPENBOSS_WEBHOOK_TIMEOUT_MS (default 10000). */
  webhookTimeoutMs: number;
  /** NATS_URL: publish to NATS JetStream too (e.g. nats://127.0.0.1:4222). */
  natsUrl: string | undefined;
  /** NATS_STREAM (default OPENBOSS), created on subjects `<prefix>.>` when missing. */
  natsStream: string;
  /** NATS_SUBJECT_PREFIX (default openboss): subject = prefix + '.' + event type. */
  natsSubjectPrefix: string;
  /** OPENBOSS_RELAY_MAX_ATTEMPTS (default 10): failed attempts before a delivery is a dead letter. */
  maxAttempts: number;
  /** OPENBOSS_RELAY_BACKOFF_SECONDS (default 30): first retry delay, doubled each attempt … */
  backoffSeconds: number;
  /** … up to OPENBOSS_RELAY_BACKOFF_MAX_SECONDS (default 3600). */
  backoffMaxSeconds: number;
  /** OPENBOSS_RELAY_BATCH (default 100): deliveries claimed per pass. */
  batchSize: number;
  /** OPENBOSS_RELAY_INTERVAL_MS (default 2000): the loop inside `serve`; 0 leaves it to the every-minute job. */
  intervalMs: number;
}

function relayConfig(env: NodeJS.ProcessEnv): RelayConfig {
  const webhookUrls = (env.OPENBOSS_WEBHOOK_URL ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  for (const u of webhookUrls) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(u).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new Error(`OPENBOSS_WEBHOOK_URL must be http(s) URLs, comma separated, got "${u}"`);
  }
  const prefix = env.NATS_SUBJECT_PREFIX || 'openboss';
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) throw new Error(`NATS_SUBJECT_PREFIX must be subject tokens without wildcards, got "${prefix}"`);
  const stream = env.NATS_STREAM || 'OPENBOSS';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) throw new Error(`NATS_STREAM must be letters, digits, _ or -, got "${stream}"`);
  const maxAttempts = intFrom(env.OPENBOSS_RELAY_MAX_ATTEMPTS, 10, 'OPENBOSS_RELAY_MAX_ATTEMPTS');
  if (maxAttempts < 1) throw new Error('OPENBOSS_RELAY_MAX_ATTEMPTS must be at least 1');
  const batchSize = intFrom(env.OPENBOSS_RELAY_BATCH, 100, 'OPENBOSS_RELAY_BATCH');
  if (batchSize < 1 || batchSize > 10_000) throw new Error('OPENBOSS_RELAY_BATCH must be between 1 and 10000');
  return {
    webhookUrls,
    webhookSecret: env.OPENBOSS_WEBHOOK_SECRET || undefined,
    webhookTimeoutMs: intFrom(env.OPENBOSS_WEBHOOK_TIMEOUT_MS, 10_000, 'OPENBOSS_WEBHOOK_TIMEOUT_MS'),
    natsUrl: env.NATS_URL || undefined,
    natsStream: stream,
    natsSubjectPrefix: prefix,
    maxAttempts,
    backoffSeconds: intFrom(env.OPENBOSS_RELAY_BACKOFF_SECONDS, 30, 'OPENBOSS_RELAY_BACKOFF_SECONDS'),
    backoffMaxSeconds: intFrom(env.OPENBOSS_RELAY_BACKOFF_MAX_SECONDS, 3600, 'OPENBOSS_RELAY_BACKOFF_MAX_SECONDS'),
    batchSize,
    intervalMs: intFrom(env.OPENBOSS_RELAY_INTERVAL_MS, 2000, 'OPENBOSS_RELAY_INTERVAL_MS'),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const clock = env.OPENBOSS_CLOCK ?? 'real';
  if (clock !== 'real' && clock !== 'simulated') {
    throw new Error(`OPENBOSS_CLOCK must be "real" or "simulated", got "${clock}"`);
  }
  return {
    port: intFrom(env.PORT, 8080, 'PORT'),
    host: env.HOST ?? '0.0.0.0',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.OPENBOSS_DATA_DIR ?? './data',
    spillDir: env.OPENBOSS_SPILL_DIR || undefined,
    clock,
    adminPassword: env.OPENBOSS_ADMIN_PASSWORD || undefined,
    logLevel: env.LOG_LEVEL ?? 'info',
    tokenTtlSeconds: intFrom(env.OPENBOSS_TOKEN_TTL_SECONDS, 12 * 3600, 'OPENBOSS_TOKEN_TTL_SECONDS'),
    poolSize: intFrom(env.OPENBOSS_DB_POOL_SIZE, 20, 'OPENBOSS_DB_POOL_SIZE'),
    trustProxy: env.OPENBOSS_TRUST_PROXY === '1' || env.OPENBOSS_TRUST_PROXY === 'true',
    kiKey: env.OPENBOSS_KI_KEY || undefined,
    cardTransportKey: env.OPENBOSS_CARD_TRANSPORT_KEY || undefined,
    relay: relayConfig(env),
  };
}

function intFrom(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}
