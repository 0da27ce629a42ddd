// R-INT-1 `openboss outbox relay` (one catch-up run) and `openboss outbox stats` on an embedded
// database, with a local HTTP server as the webhook (OPENBOSS_WEBHOOK_URL, OPENBOSS_WEBHOOK_SECRET).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { signBody } from '../src/platform/relay-sinks.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'openboss-relay-cli-'));
const got: { id: string; type: string; signed: boolean }[] = [];
const server = createServer((req, res) => {
  let raw = '';
  req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
  req.on('end', () => {
    got.push({ id: String(req.headers['x-openboss-event-id']), type: String(req.headers['x-openboss-event-type']), signed: req.headers['x-openboss-signature'] === signBody('cli-secret', raw) });
    res.end('ok');
  });
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBOSS_DATA_DIR: dir, LOG_LEVEL: 'warn', OPENBOSS_WEBHOOK_URL: url, OPENBOSS_WEBHOOK_SECRET: 'cli-secret' };
  delete env.DATABASE_URL;
  delete env.NATS_URL;
  try {
    const r = await run(process.execPath, ['src/app/cli.ts', ...args], { env, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('R-INT-1 `openboss outbox relay` delivers what is due to the configured webhook, signed; `outbox stats` counts it', { timeout: 240_000 }, async () => {
  const created = await cli('operator', 'create', '--username', 'relayadmin', '--password', 'relay-password-1');
  expect(created.code, created.stderr).toBe(0);
  const relay = await cli('outbox', 'relay');
  expect(relay.code, relay.stderr).toBe(0);
  expect(JSON.parse(relay.stdout)).toMatchObject({ delivered: 1, dead: 0, published: 1 });
  expect(got).toEqual([{ id: expect.stringMatching(/^\d+$/), type: 'operator.created', signed: true }]);
  // a second run finds nothing new
  expect(JSON.parse((await cli('outbox', 'relay')).stdout)).toMatchObject({ claimed: 0, delivered: 0 });
  expect(got).toHaveLength(1);
  const stats = await cli('outbox', 'stats');
  expect(stats.code, stats.stderr).toBe(0);
  expect(JSON.parse(stats.stdout).sinks).toEqual([
    expect.objectContaining({ sink: 'webhook', configured: true, pending: 0, delivered: 1, dead: 0 }),
    // the SMS adapter is always a sink (R-INT-3); an operator.created event is not for it
    expect.objectContaining({ sink: 'notifications', configured: true, pending: 0, delivered: 0, dead: 0 }),
  ]);
});
