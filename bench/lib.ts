// Shared parts of the load benchmarks: settings from the environment, CPU accounting from /proc,
// bench databases, the server as a child process, pgbench, percentiles. Used by bench/payments.ts
// and bench/orders.ts.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = fileURLToPath(new URL('../src/app/cli.ts', import.meta.url));

export function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

function findPgbench(): string {
  try {
    execFileSync('pgbench', ['--version'], { stdio: 'ignore' });
    return 'pgbench';
  } catch {
    return '/usr/bin/pgbench';
  }
}

/** The settings every bench shares (names as in bench/README.md). */
export interface CommonSettings {
  baseUrl: string;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  poolSize: number;
  pgbenchScale: number;
  pgbenchSeconds: number;
  pgbenchThreads: number;
  pgbench: string;
  keep: boolean;
  skipPgbench: boolean;
  serverNodeOptions: string | undefined;
  dbSettings: { name: string; value: string }[];
}

/**
 * PostgreSQL on this machine is reached over its Unix socket, as psql and pgbench reach it by default:
 * a TCP URL to 127.0.0.1 or localhost (DATABASE_URL, or the default) becomes the same server's socket
 * when the socket exists. BENCH_DATABASE_URL is taken as it is, and BENCH_TCP=1 keeps TCP.
 */
export function localSocketUrl(url: string, dir = process.env.BENCH_SOCKET_DIR || '/var/run/postgresql'): string {
  if (process.env.BENCH_TCP === '1') return url;
  const u = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) || u.searchParams.has('host')) return url;
  if (!existsSync(`${dir}/.s.PGSQL.${u.port || '5432'}`)) return url;
  u.hostname = 'localhost';
  u.searchParams.set('host', dir);
  return u.toString();
}

export function commonSettings(defaults: { seconds: number; connections: number }): CommonSettings {
  const connections = intEnv('BENCH_CONNECTIONS', defaults.connections);
  return {
    baseUrl: process.env.BENCH_DATABASE_URL || localSocketUrl(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'),
    seconds: intEnv('BENCH_SECONDS', defaults.seconds),
    warmupSeconds: intEnv('BENCH_WARMUP_SECONDS', 3, 0),
    connections,
    poolSize: intEnv('BENCH_POOL_SIZE', intEnv('OPENBOSS_DB_POOL_SIZE', connections)),
    pgbenchScale: intEnv('BENCH_PGBENCH_SCALE', 10),
    pgbenchSeconds: intEnv('BENCH_PGBENCH_SECONDS', intEnv('BENCH_SECONDS', defaults.seconds)),
    pgbenchThreads: intEnv('BENCH_PGBENCH_THREADS', 2),
    pgbench: process.env.BENCH_PGBENCH || findPgbench(),
    keep: process.env.BENCH_KEEP === '1',
    skipPgbench: process.env.BENCH_SKIP_PGBENCH === '1',
    serverNodeOptions: process.env.BENCH_SERVER_NODE_OPTIONS,
    dbSettings: (process.env.BENCH_DB_SETTINGS ?? '')
      .split(',')
      .map((kv) => kv.trim())
      .filter(Boolean)
      .map((kv) => {
        const m = /^([a-z_.]+)\s*=\s*([A-Za-z0-9_.-]+)$/.exec(kv);
        if (!m) throw new Error(`BENCH_DB_SETTINGS: expected name=value, got "${kv}"`);
        return { name: m[1] as string, value: m[2] as string };
      }),
  };
}

export function dbUrl(baseUrl: string, name: string): string {
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The URL without its password, for printing. */
export function shown(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export const log = (msg: string) => console.log(`[bench] ${msg}`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentile of unsorted samples (ms); 0 for none. */
export function percentile(samples: number[], p: number, sorted = false): number {
  if (samples.length === 0) return 0;
  const s = sorted ? samples : [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

export function latencySummary(samples: number[]): { n: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0;
  return { n: s.length, p50: round(percentile(s, 50, true), 1), p90: round(percentile(s, 90, true), 1), p99: round(percentile(s, 99, true), 1), max: round(s.at(-1) ?? 0, 1), mean: round(mean, 1) };
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux): which process used how many cores while the load ran.

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* 100 on every Linux we know */
}

function procTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]); // utime + stime
  } catch {
    return undefined;
  }
}

/**
 * The PostgreSQL processes that work for one database: its backends plus the shared background
 * processes (WAL writer, checkpointer…), polled from pg_stat_activity so that other databases on
 * the same server (someone's test run) are not counted as ours.
 */
export class PgPids {
  private readonly baseUrl: string;
  private readonly database: string;
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private current: number[] = [];

  constructor(baseUrl: string, database: string) {
    this.baseUrl = baseUrl;
    this.database = database;
  }

  async start(): Promise<void> {
    this.client = new pg.Client({ connectionString: this.baseUrl });
    await this.client.connect();
    await this.poll();
    this.timer = setInterval(() => void this.poll(), 500);
  }

  private async poll(): Promise<void> {
    try {
      const r = await this.client?.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE (datname = $1 OR datname IS NULL) AND pid <> pg_backend_pid()', [this.database]);
      if (r) this.current = r.rows.map((row) => row.pid);
    } catch {
      /* keep the last list */
    }
  }

  pids = (): number[] => this.current;

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.client?.end();
  }
}

function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Samples CPU ticks of named groups of processes; a process born during the window counts from 0. */
export class CpuMeter {
  private readonly groups: Record<string, () => number[]>;
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private selfStart: NodeJS.CpuUsage | undefined;
  private machineStart: { busy: number; total: number } | undefined;
  private primed = false;

  constructor(groups: Record<string, () => number[]>) {
    this.groups = groups;
  }

  start(): void {
    this.startedAt = performance.now();
    this.selfStart = process.cpuUsage();
    this.machineStart = machineTicks();
    this.sample();
    this.primed = true;
    this.timer = setInterval(() => this.sample(), 250);
  }

  private sample(): void {
    for (const [group, pids] of Object.entries(this.groups)) {
      for (const pid of pids()) {
        const t = procTicks(pid);
        if (t === undefined) continue;
        const key = `${group}:${pid}`;
        if (!this.first.has(key)) this.first.set(key, this.primed ? 0 : t);
        this.last.set(key, t);
      }
    }
  }

  /** Average cores busy per group over the window, plus the load generator (this process) and the machine. */
  stop(): Record<string, number> {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    const seconds = (performance.now() - this.startedAt) / 1000;
    const cores: Record<string, number> = {};
    for (const group of Object.keys(this.groups)) cores[group] = 0;
    for (const [key, end] of this.last) {
      const group = key.slice(0, key.indexOf(':'));
      cores[group] = (cores[group] ?? 0) + (end - (this.first.get(key) ?? end)) / clockTicks / seconds;
    }
    const self = process.cpuUsage(this.selfStart);
    cores.loadGenerator = (self.user + self.system) / 1e6 / seconds;
    const m = machineTicks();
    if (m && this.machineStart && m.total > this.machineStart.total) {
      const machine = ((m.busy - this.machineStart.busy) / (m.total - this.machineStart.total)) * os.cpus().length;
      const ours = Object.values(cores).reduce((a, b) => a + b, 0);
      cores.other = Math.max(0, machine - ours);
      cores.machine = machine;
    }
    return cores;
  }
}

export function cpuLine(cores: Record<string, number>): string {
  return Object.entries(cores)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
}

/** CPU milliseconds per operation of each process group, e.g. "server 0.92, postgres 2.01". */
export function cpuPerOp(cores: Record<string, number>, opsPerSec: number): string {
  return Object.entries(cores)
    .filter(([k]) => k !== 'other')
    .map(([k, v]) => `${k} ${((v / opsPerSec) * 1000).toFixed(2)}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------
// Databases, the server, pgbench

export async function withAdmin<T>(baseUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: baseUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function recreateDatabase(s: CommonSettings, name: string): Promise<void> {
  await withAdmin(s.baseUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
    for (const { name: key, value } of s.dbSettings) await c.query(`ALTER DATABASE ${name} SET ${key} = '${value}'`);
  });
}

export async function dropDatabase(s: CommonSettings, name: string): Promise<void> {
  await withAdmin(s.baseUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Version and the settings that matter for the figures. */
export async function postgresInfo(baseUrl: string): Promise<{ version: string; short: string; settings: string }> {
  return withAdmin(baseUrl, async (c) => {
    const rows = await c.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, setting, unit FROM pg_settings
        WHERE name IN ('max_connections', 'shared_buffers', 'synchronous_commit', 'fsync', 'wal_level') ORDER BY name`,
    );
    const v = await c.query<{ version: string }>('SELECT version() AS version');
    const shownSetting = (r: { setting: string; unit: string | null }) => (r.unit === '8kB' ? `${Math.round((Number(r.setting) * 8) / 1024)}MB` : r.setting);
    const version = v.rows[0]?.version ?? '?';
    return { version, short: /^PostgreSQL [\d.]+/.exec(version)?.[0] ?? version, settings: rows.rows.map((r) => `${r.name}=${shownSetting(r)}`).join(' ') };
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, onSpawn?: (child: ChildProcess) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    onSpawn?.(child);
  });
}

/** `node src/app/cli.ts serve` on PostgreSQL, in its own process so it does not share the load generator's event loop. */
export class Server {
  readonly url: string;
  private readonly child: ChildProcess;
  private output = '';
  private exited: number | null | undefined;

  constructor(port: number, databaseUrl: string, opts: { poolSize: number; adminPassword: string; nodeOptions?: string | undefined }) {
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(process.execPath, [CLI, 'serve'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        OPENBOSS_ADMIN_PASSWORD: opts.adminPassword,
        OPENBOSS_DB_POOL_SIZE: String(opts.poolSize),
        OPENBOSS_CLOCK: 'real',
        LOG_LEVEL: 'warn',
        ...(opts.nodeOptions ? { NODE_OPTIONS: opts.nodeOptions } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.once('exit', (code) => (this.exited = code));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** What the server printed (warnings and errors only at LOG_LEVEL=warn). */
  get logs(): string {
    return this.output;
  }

  async waitHealthy(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.exited !== undefined) throw new Error(`the server exited with code ${this.exited}:\n${this.output}`);
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.ok) return;
      } catch {
        /* not listening yet */
      }
      await sleep(200);
    }
    throw new Error(`the server did not become healthy in ${timeoutMs} ms:\n${this.output}`);
  }

  async stop(): Promise<void> {
    if (this.exited !== undefined || this.child.pid === undefined) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

export interface PgbenchRun {
  tps: number;
  latencyMs: number;
  cpu: Record<string, number>;
}

/** pgbench's default TPC-B-like script on its own database, as many clients as the load has connections. */
export async function runPgbench(s: CommonSettings, database: string, label: string): Promise<PgbenchRun> {
  log(`pgbench (${label}): -c ${s.connections} -j ${s.pgbenchThreads} -T ${s.pgbenchSeconds} -n, TPC-B-like`);
  let pid: number | undefined;
  const pgPids = new PgPids(s.baseUrl, database);
  await pgPids.start();
  const meter = new CpuMeter({ postgres: pgPids.pids, pgbench: () => (pid ? [pid] : []) });
  meter.start();
  const args = ['-c', String(s.connections), '-j', String(s.pgbenchThreads), '-T', String(s.pgbenchSeconds), '-n', dbUrl(s.baseUrl, database)];
  const out = await run(s.pgbench, args, process.env, (child) => (pid = child.pid));
  const cpu = meter.stop();
  await pgPids.stop();
  delete cpu.loadGenerator;
  if (out.code !== 0) throw new Error(`pgbench failed (${out.code}):\n${out.stderr}\n${out.stdout}`);
  const tps = Number(/tps = ([\d.]+)/.exec(out.stdout)?.[1]);
  if (!Number.isFinite(tps)) throw new Error(`no "tps = " in pgbench's output:\n${out.stdout}`);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(out.stdout)?.[1]);
  log(`pgbench (${label}): ${fmt(tps, 1)} TPS`);
  return { tps, latencyMs, cpu };
}

/** `pgbench -i -s <scale>` into a fresh database. */
export async function initPgbench(s: CommonSettings, database: string): Promise<void> {
  await recreateDatabase(s, database);
  const t0 = performance.now();
  const init = await run(s.pgbench, ['-i', '-s', String(s.pgbenchScale), '--quiet', dbUrl(s.baseUrl, database)]);
  if (init.code !== 0) throw new Error(`pgbench -i failed (${init.code}):\n${init.stderr}`);
  log(`pgbench -i -s ${s.pgbenchScale} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Ctrl-C or SIGTERM stops the server the bench started (if any) before exiting; returns the undo. */
export function stopServerOnSignal(current: () => Server | undefined): () => void {
  const onSignal = () => {
    void (current()?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/**
 * A fresh app database and, unless skipped, a pgbench database with its first run; pgbench runs
 * again after the load (the machine's speed drifts on shared hosts).
 */
export async function prepareDatabases(s: CommonSettings, appDb: string, pgbenchDb: string): Promise<PgbenchRun[]> {
  log(`creating databases ${appDb}${s.skipPgbench ? '' : ` and ${pgbenchDb}`}`);
  await recreateDatabase(s, appDb);
  const runs: PgbenchRun[] = [];
  if (!s.skipPgbench) {
    await initPgbench(s, pgbenchDb);
    runs.push(await runPgbench(s, pgbenchDb, 'before'));
  }
  return runs;
}
