// Configuration comes from the environment only; every default is documented in the README.
export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
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
    clock,
    adminPassword: env.OPENBOSS_ADMIN_PASSWORD || undefined,
    logLevel: env.LOG_LEVEL ?? 'info',
    tokenTtlSeconds: intFrom(env.OPENBOSS_TOKEN_TTL_SECONDS, 12 * 3600, 'OPENBOSS_TOKEN_TTL_SECONDS'),
    poolSize: intFrom(env.OPENBOSS_DB_POOL_SIZE, 20, 'OPENBOSS_DB_POOL_SIZE'),
    trustProxy: env.OPENBOSS_TRUST_PROXY === '1' || env.OPENBOSS_TRUST_PROXY === 'true',
    kiKey: env.OPENBOSS_KI_KEY || undefined,
    cardTransportKey: env.OPENBOSS_CARD_TRANSPORT_KEY || undefined,
  };
}

function intFrom(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}
