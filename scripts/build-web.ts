// `npm start` runs this first: builds the front-desk web app (web/ → web/dist) when web/dist is
// missing or older than its sources, so `npm install && npm start` on a fresh clone serves the UI.
// The E2E harness calls buildWebIfStale() too.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('../web/', import.meta.url));

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(`${path}/${e}`));
  return newest;
}

/** True when web/dist/index.html is missing or older than web/src, web/index.html or web/vite.config.ts. */
export function webIsStale(): boolean {
  const built = `${WEB}dist/index.html`;
  if (!existsSync(built)) return true;
  const sources = Math.max(newestMtime(`${WEB}src`), newestMtime(`${WEB}index.html`), newestMtime(`${WEB}vite.config.ts`));
  return sources > statSync(built).mtimeMs;
}

export async function buildWebIfStale(log: (s: string) => void = console.log): Promise<boolean> {
  if (!webIsStale()) return false;
  log('building the web app (web/ → web/dist) …');
  // vite is a devDependency: imported only when there is something to build
  const { build } = await import('vite');
  // always React's production build, also when called from a test runner (vitest sets NODE_ENV=test)
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: `${WEB}vite.config.ts`, logLevel: 'warn', mode: 'production' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  log('web app built');
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await buildWebIfStale();
  } catch (err) {
    // the server still starts and its home page says how to build the app
    console.error(`the web app could not be built (${err instanceof Error ? err.message : String(err)}); run \`npm run build:web\``);
  }
}
