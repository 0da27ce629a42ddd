#!/usr/bin/env node
// `npx openboss`: runs the TypeScript CLI on Node's type stripping (Node >= 22.12 with
// --experimental-strip-types, on by default from 23.6; the project pins Node 24).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/app/cli.ts', import.meta.url));
const [major, minor] = process.versions.node.split('.').map(Number);
const flags = major > 23 || (major === 23 && minor >= 6) ? [] : ['--experimental-strip-types', '--no-warnings'];
const r = spawnSync(process.execPath, [...flags, cli, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
